"""The report's status and its one transition table, plus the review guard (never the author)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from backend.domain.machine import StateMachine


class ReportStatus(StrEnum):
    NONE = "none"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    AMENDED = "amended"


class ReportTrigger(StrEnum):
    WRITE = "write"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    AMEND = "amend"


REPORT_STATUS_LABELS: Final[Mapping[ReportStatus, str]] = {
    ReportStatus.NONE: "未写",
    ReportStatus.DRAFT: "书写中",
    ReportStatus.SUBMITTED: "待审核",
    ReportStatus.RETURNED: "已退回",
    ReportStatus.APPROVED: "已审核",
    ReportStatus.AMENDED: "修改中",
}

S, T = ReportStatus, ReportTrigger
REPORT_TRANSITIONS: Final[Mapping[tuple[ReportStatus, ReportTrigger], ReportStatus]] = {
    (S.NONE, T.WRITE): S.DRAFT,
    (S.DRAFT, T.WRITE): S.DRAFT,
    (S.DRAFT, T.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, T.APPROVE): S.APPROVED,
    (S.SUBMITTED, T.RETURN): S.RETURNED,
    (S.RETURNED, T.WRITE): S.DRAFT,
    (S.RETURNED, T.SUBMIT): S.SUBMITTED,
    # Amending an approved report opens a new version; the approved one is kept unchanged.
    (S.APPROVED, T.AMEND): S.AMENDED,
    (S.AMENDED, T.WRITE): S.AMENDED,
    (S.AMENDED, T.SUBMIT): S.SUBMITTED,
}
del S, T

REPORT_TRIGGER_LABELS: Final[Mapping[ReportTrigger, str]] = {
    ReportTrigger.WRITE: "书写",
    ReportTrigger.SUBMIT: "提交",
    ReportTrigger.APPROVE: "审核通过",
    ReportTrigger.RETURN: "退回",
    ReportTrigger.AMEND: "修改",
}
REPORT_MACHINE: Final = StateMachine("report", REPORT_TRANSITIONS, REPORT_STATUS_LABELS, REPORT_TRIGGER_LABELS)
# Statuses in which the text may be edited by its author.
EDITABLE_REPORT: Final = frozenset({ReportStatus.DRAFT, ReportStatus.RETURNED, ReportStatus.AMENDED})
# Not yet submitted nor approved: the report worklist.
REPORT_TO_WRITE: Final = frozenset({ReportStatus.NONE, ReportStatus.DRAFT, ReportStatus.RETURNED,
                                    ReportStatus.AMENDED})
# An approved report exists (while it is amended, the approved version stays valid): reminders stop.
REPORT_DONE: Final = frozenset({ReportStatus.APPROVED, ReportStatus.AMENDED})


def next_report_status(current: ReportStatus, trigger: ReportTrigger) -> ReportStatus:
    """Return the report status after `trigger`, or raise InvalidTransition."""
    return REPORT_MACHINE.next(current, trigger)
