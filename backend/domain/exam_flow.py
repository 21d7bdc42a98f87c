"""The procedure status of an exam (IHE SWF names) and its one transition table."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from backend.domain.catalog import TimelineKind
from backend.domain.machine import StateMachine


class ExamStatus(StrEnum):
    ORDERED = "ordered"
    SCHEDULED = "scheduled"
    REGISTERED = "registered"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    REGISTER = "register"
    CHECK_IN = "check_in"
    UNDO_CHECK_IN = "undo_check_in"
    START = "start"
    UNDO_START = "undo_start"  # a start that only a reconstruction link made, withdrawn with the link (LN-5)
    COMPLETE = "complete"
    DISCONTINUE = "discontinue"
    CANCEL = "cancel"


EXAM_STATUS_LABELS: Final[Mapping[ExamStatus, str]] = {
    ExamStatus.ORDERED: "已开单",
    ExamStatus.SCHEDULED: "已预约",
    ExamStatus.REGISTERED: "已登记",
    ExamStatus.ARRIVED: "已签到",
    ExamStatus.IN_PROGRESS: "检查中",
    ExamStatus.COMPLETED: "检查完成",
    ExamStatus.DISCONTINUED: "检查中断",
    ExamStatus.CANCELLED: "已取消",
}

TRIGGER_LABELS: Final[Mapping[Trigger, str]] = {
    Trigger.SCHEDULE: "预约",
    Trigger.REGISTER: "登记",
    Trigger.CHECK_IN: "签到",
    Trigger.UNDO_CHECK_IN: "撤销签到",
    Trigger.START: "开始检查",
    Trigger.UNDO_START: "撤销开始检查",
    Trigger.COMPLETE: "完成检查",
    Trigger.DISCONTINUE: "中断检查",
    Trigger.CANCEL: "取消",
}

S, T = ExamStatus, Trigger
TRANSITIONS: Final[Mapping[tuple[ExamStatus, Trigger], ExamStatus]] = {
    (S.ORDERED, T.SCHEDULE): S.SCHEDULED,
    (S.ORDERED, T.REGISTER): S.REGISTERED,
    (S.SCHEDULED, T.REGISTER): S.REGISTERED,
    (S.REGISTERED, T.CHECK_IN): S.ARRIVED,
    # An item with no room step (e.g. lung-nodule target reconstruction) starts straight from registered.
    (S.REGISTERED, T.START): S.IN_PROGRESS,
    (S.ARRIVED, T.UNDO_CHECK_IN): S.REGISTERED,
    (S.ARRIVED, T.START): S.IN_PROGRESS,
    # Undoing the reconstruction link that started the exam, before any image of its own (recon.unlink).
    (S.IN_PROGRESS, T.UNDO_START): S.REGISTERED,
    (S.IN_PROGRESS, T.COMPLETE): S.COMPLETED,
    (S.IN_PROGRESS, T.DISCONTINUE): S.DISCONTINUED,
    (S.ORDERED, T.CANCEL): S.CANCELLED,
    (S.SCHEDULED, T.CANCEL): S.CANCELLED,
    (S.REGISTERED, T.CANCEL): S.CANCELLED,
    (S.ARRIVED, T.CANCEL): S.CANCELLED,
}
del S, T

EXAM_MACHINE: Final = StateMachine("exam", TRANSITIONS, EXAM_STATUS_LABELS, TRIGGER_LABELS)

# States in which the order may still be edited or cancelled by the registration desk.
EDITABLE: Final = frozenset({ExamStatus.ORDERED, ExamStatus.SCHEDULED, ExamStatus.REGISTERED})
# States that count as "performed" for the cockpit and for reporting: a report may be written and a
# critical value raised once the patient is on the table (检查中) or done (检查完成).
PERFORMED: Final = frozenset({ExamStatus.IN_PROGRESS, ExamStatus.COMPLETED})
# Not finished yet (every state a trigger may still leave): the patient's open exams at check-in.
OPEN_EXAM: Final = frozenset({ExamStatus.ORDERED, ExamStatus.SCHEDULED, ExamStatus.REGISTERED, ExamStatus.ARRIVED,
                              ExamStatus.IN_PROGRESS})
# Ended without images to read: no report is expected (reminders stop).
NO_REPORT_EXPECTED: Final = frozenset({ExamStatus.CANCELLED, ExamStatus.DISCONTINUED})


def next_status(current: ExamStatus, trigger: Trigger) -> ExamStatus:
    """Return the status after `trigger`, or raise InvalidTransition naming the current state."""
    return EXAM_MACHINE.next(current, trigger)


def awaiting_start(status: str) -> bool:
    """Checked in and not started: the only time a called patient may be marked missed or sent elsewhere."""
    return ExamStatus(status) is ExamStatus.ARRIVED


def performed(status: str) -> bool:
    """The exam has started (or ended normally): see PERFORMED."""
    return ExamStatus(status) in PERFORMED


# The timeline kind (past tense) that each trigger writes; the cockpit and reminders read these.
TRIGGER_EVENT: Final[Mapping[Trigger, TimelineKind]] = {
    Trigger.SCHEDULE: TimelineKind.SCHEDULED,
    Trigger.REGISTER: TimelineKind.REGISTERED,
    Trigger.CHECK_IN: TimelineKind.CHECKED_IN,
    Trigger.UNDO_CHECK_IN: TimelineKind.CHECK_IN_UNDONE,
    Trigger.START: TimelineKind.STARTED,
    Trigger.UNDO_START: TimelineKind.START_UNDONE,
    Trigger.COMPLETE: TimelineKind.COMPLETED,
    Trigger.DISCONTINUE: TimelineKind.DISCONTINUED,
    Trigger.CANCEL: TimelineKind.CANCELLED,
}
# Leaving the line without an exam (cancelled, discontinued, check-in undone) closes the queue ticket,
# so no room ever calls a patient whose exam cannot start.
CLOSES_TICKET: Final = frozenset({Trigger.CANCEL, Trigger.DISCONTINUE, Trigger.UNDO_CHECK_IN})
