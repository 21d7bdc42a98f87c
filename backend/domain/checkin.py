"""Self check-in rules: the one failure taxonomy (stable codes, plain Chinese) and the eligibility check.

`check_eligibility` is pure: the service loads the facts, this decides, the service persists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from backend.domain.enums import PatientClass, Priority
from backend.domain.exam_flow import ExamStatus
from backend.domain.queue_flow import TicketStatus


class Refusal(StrEnum):
    """Why an exam cannot be checked in here and now; the value is the stable API reason code."""

    NOT_TODAY = "not_today"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    NOT_PAID = "not_paid"
    CANCELLED = "cancelled"
    ALREADY_CHECKED_IN = "already_checked_in"
    WRONG_CAMPUS = "wrong_campus"
    WRONG_TERMINAL = "wrong_terminal"
    NURSE_DESK = "nurse_desk"
    UNKNOWN_CODE = "unknown_code"


REFUSAL_TEXT: Final[Mapping[Refusal, str]] = {
    Refusal.NOT_TODAY: "该检查不是今天的预约，请按预约日期前来",
    Refusal.TOO_EARLY: "还没到签到时间，请在预约时间前 {early} 分钟内签到",
    Refusal.TOO_LATE: "已超过预约时间，请到护士站办理",
    Refusal.NOT_PAID: "该检查尚未缴费，请先到收费处或自助缴费机缴费",
    Refusal.CANCELLED: "该检查已取消，如有疑问请咨询护士站",
    Refusal.ALREADY_CHECKED_IN: "该检查已签到，无需重复签到",
    Refusal.WRONG_CAMPUS: "该检查不在本院区，请前往{campus}签到",
    Refusal.WRONG_TERMINAL: "本机不能为该检查签到，请使用对应区域的自助机或到护士站",
    Refusal.NURSE_DESK: "该检查需要到护士站人工办理",
    Refusal.UNKNOWN_CODE: "未找到您的检查信息，请核对条码或病案号，或咨询护士站",
}

PRIORITY_RANK: Final[Mapping[str, int]] = {Priority.STAT: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}


def refusal_text(reason: Refusal, *, early_min: int = 0, campus: str = "") -> str:
    """The plain-Chinese sentence for a refusal, with its few placeholders filled."""
    return REFUSAL_TEXT[reason].format(early=early_min, campus=campus or "对应院区")


@dataclass(frozen=True, slots=True)
class ExamFacts:
    """What the rule needs to know about one exam (plain values loaded by the service)."""

    exam_id: int
    status: str
    paid: bool
    needs_room: bool
    queue_id: int | None
    campus_id: int
    scheduled_at: datetime | None
    priority: str = Priority.ROUTINE
    patient_class: str = PatientClass.OUTPATIENT
    ticket_status: str | None = None
    # The exam's open ticket stands in a current line (queue_flow.in_current_lines); False: none, or stale.
    ticket_current: bool = True


@dataclass(frozen=True, slots=True)
class TerminalFacts:
    """A kiosk: its campus and the queues it may check in for (empty = every queue of its campus)."""

    code: str
    campus_id: int
    queue_ids: frozenset[int] = field(default_factory=frozenset)
    active: bool = True


@dataclass(frozen=True, slots=True)
class CheckinRules:
    early_window_min: int = 60
    late_after_min: int = 60
    # The nurse desk may check in outside the kiosk's time window (it sees the patient).
    ignore_time_window: bool = False


@dataclass(frozen=True, slots=True)
class Ok:
    """Eligible: a new ticket, (requeue=True) a missed ticket goes back in line, or (reissue=True) an arrived
    exam whose ticket fell out of the current lines gets a ticket in today's line again (the desk only)."""

    requeue: bool = False
    reissue: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal


# Not registered yet: the desk registers (and schedules) first.
OPEN_BEFORE_CHECKIN: Final = frozenset({ExamStatus.ORDERED, ExamStatus.SCHEDULED})
PAST_CHECKIN: Final = frozenset({ExamStatus.ARRIVED, ExamStatus.IN_PROGRESS, ExamStatus.COMPLETED,
                                 ExamStatus.DISCONTINUED})


def effective_priority(priority: str, patient_class: str) -> str:
    """Emergency patients are at least urgent in the queue, whatever the order said."""
    if patient_class == PatientClass.EMERGENCY and PRIORITY_RANK.get(priority, 2) > PRIORITY_RANK[Priority.URGENT]:
        return Priority.URGENT.value
    return priority if priority in PRIORITY_RANK else Priority.ROUTINE.value


def check_eligibility(exam: ExamFacts, terminal: TerminalFacts | None, *, at: datetime, today: date,
                      rules: CheckinRules) -> Ok | Refused:
    """Decide whether `exam` may be checked in at `terminal` (None = the nurse desk) at `at`."""
    status = ExamStatus(exam.status)
    if status is ExamStatus.CANCELLED:
        return Refused(Refusal.CANCELLED)
    if status is ExamStatus.ARRIVED and not exam.ticket_current:
        # Stuck: checked in, but no line holds its ticket. The desk sees the patient and re-issues it.
        return Ok(reissue=True) if terminal is None else Refused(Refusal.NURSE_DESK)
    if status is ExamStatus.ARRIVED and exam.ticket_status == TicketStatus.MISSED:
        return Ok(requeue=True)
    if status in PAST_CHECKIN:
        return Refused(Refusal.ALREADY_CHECKED_IN)
    if not exam.needs_room or exam.queue_id is None or status in OPEN_BEFORE_CHECKIN:
        return Refused(Refusal.NURSE_DESK)
    # The day first: an exam of another day is refused as such, wherever it is (no trip to another campus).
    if _timed(exam) and exam.scheduled_at is not None and exam.scheduled_at.date() != today:
        return Refused(Refusal.NOT_TODAY)
    if terminal is not None:
        if not terminal.active:
            return Refused(Refusal.WRONG_TERMINAL)
        if exam.campus_id != terminal.campus_id:
            return Refused(Refusal.WRONG_CAMPUS)
        if terminal.queue_ids and exam.queue_id not in terminal.queue_ids:
            return Refused(Refusal.WRONG_TERMINAL)
    timing = _timing(exam, at=at, rules=rules)
    if timing is not None:
        return Refused(timing)
    if not exam.paid:
        return Refused(Refusal.NOT_PAID)
    return Ok()


ULTRASOUND_MODALITY: Final = "US"


def terminal_scope(modalities: frozenset[str]) -> str:
    """What a kiosk's header says it checks in for, from the modalities of the queues it serves."""
    parts = (["影像检查"] if modalities - {ULTRASOUND_MODALITY} else []) + \
        (["超声检查"] if ULTRASOUND_MODALITY in modalities else [])
    return " · ".join(parts) or "检查签到"


def listed_for_checkin(exam: ExamFacts) -> bool:
    """Whether a check-in list shows the exam: an item done without the patient present (the lung-nodule
    reconstruction, needs_room False) is not the patient's to check in, so it is not listed at all."""
    return exam.needs_room


def _timed(exam: ExamFacts) -> bool:
    """Walk-in exams (no slot) and emergencies have no appointment day or window."""
    return exam.scheduled_at is not None and exam.patient_class != PatientClass.EMERGENCY


def _timing(exam: ExamFacts, *, at: datetime, rules: CheckinRules) -> Refusal | None:
    """The appointment window of today's timed exams (the day is checked before the place)."""
    if exam.scheduled_at is None or not _timed(exam) or rules.ignore_time_window:
        return None
    if at < exam.scheduled_at - timedelta(minutes=rules.early_window_min):
        return Refusal.TOO_EARLY
    if at > exam.scheduled_at + timedelta(minutes=rules.late_after_min):
        return Refusal.TOO_LATE
    return None
