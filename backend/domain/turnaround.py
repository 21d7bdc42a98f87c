"""Report turnaround: the due time of an exam's report and which exams get emergency reminders (ER-1).

Rule (docs/metrics.md "Report due time"): the report is due `target` minutes after the exam ends
(its `completed` event). The target comes from the `tat.targets` setting by patient class and modality;
a stat exam of any class uses the emergency targets. An unknown modality falls back to the class's
smallest target, an unknown class to the emergency table, and finally to 60 minutes. An exam item's own
target (`tat_emergency_min` / `tat_routine_min`) wins over the table when set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Final

from backend.domain.catalog import TimelineKind
from backend.domain.enums import PatientClass, Priority

FALLBACK_MIN = 60


class ReminderKind(StrEnum):
    DUE = "due"  # to the report's readers, before the deadline
    ESCALATION = "escalation"  # to the seniors, once overdue


class ReminderState(StrEnum):
    SHOWN = "shown"
    OPENED = "opened"
    SNOOZED = "snoozed"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"  # the report was approved or the exam ended without one


# Still the doctor's to handle: a snoozed one comes back when its time is up.
OPEN_REMINDER: Final = frozenset({ReminderState.SHOWN, ReminderState.OPENED, ReminderState.SNOOZED})
# The popup's buttons: 已知晓 (ack), 稍后提醒 (snooze), 打开报告 (open).
REMINDER_ACTIONS: Final[Mapping[str, ReminderState]] = {
    "ack": ReminderState.ACKNOWLEDGED, "snooze": ReminderState.SNOOZED, "open": ReminderState.OPENED,
}
# The timeline row of each state a reminder enters (closing writes none: the report's row says why).
REMINDER_TIMELINE: Final[Mapping[ReminderState, TimelineKind]] = {
    ReminderState.SHOWN: TimelineKind.ER_REMINDER_SHOWN,
    ReminderState.OPENED: TimelineKind.ER_REMINDER_OPENED,
    ReminderState.SNOOZED: TimelineKind.ER_REMINDER_SNOOZED,
    ReminderState.ACKNOWLEDGED: TimelineKind.ER_REMINDER_ACKNOWLEDGED,
}


def target_minutes(targets: Mapping[str, Mapping[str, int]], *, patient_class: str, modality: str,
                   priority: str) -> int:
    """The turnaround target in minutes for one exam."""
    cls = PatientClass.EMERGENCY if priority == Priority.STAT else patient_class
    table = targets.get(cls) or targets.get(PatientClass.EMERGENCY) or {}
    if modality in table:
        return int(table[modality])
    return min((int(v) for v in table.values()), default=FALLBACK_MIN)


def report_due(targets: Mapping[str, Mapping[str, int]], *, patient_class: str, modality: str, priority: str,
               completed_at: datetime, item_minutes: int | None = None) -> datetime:
    """When the report of an exam that ended at `completed_at` is due (the item's target if it has one)."""
    minutes = item_minutes or target_minutes(targets, patient_class=patient_class, modality=modality,
                                             priority=priority)
    return completed_at + timedelta(minutes=minutes)


def needs_reminder(*, patient_class: str, priority: str) -> bool:
    """Emergency reminders are for emergency patients and stat exams only."""
    return patient_class == PatientClass.EMERGENCY or priority == Priority.STAT


def reminder_due(due_at: datetime, *, now: datetime, lead: timedelta) -> bool:
    """True once `now` is within `lead` of the due time (or past it)."""
    return now + lead >= due_at


def minutes_left(due_at: datetime, now: datetime) -> int:
    """Whole minutes until the deadline (negative when overdue), rounded toward the deadline."""
    seconds = (due_at - now).total_seconds()
    return int(seconds // 60) if seconds >= 0 else -int(-seconds // 60)


# ---- who holds the task now (issue 15 items 1 and 2) -------------------------------------------------------
# Before submission the writer holds an emergency report; once submitted, the reviewer (or the review pool).
WRITER_STAGE: Final = frozenset({"none", "draft", "returned"})
REVIEW_STAGE: Final = frozenset({"submitted"})


class TaskStage(StrEnum):
    WRITE = "write"  # the writer's to finish
    REVIEW = "review"  # submitted: the reviewer's
    FINISHED = "finished"  # approved (or amended): nobody's


def task_stage(report_status: str) -> TaskStage:
    """Who holds an emergency report's task by its report status."""
    if report_status in REVIEW_STAGE:
        return TaskStage.REVIEW
    if report_status in WRITER_STAGE:
        return TaskStage.WRITE
    return TaskStage.FINISHED


def parse_weekdays(text: str) -> frozenset[int]:
    """'1,2,3' -> {1, 2, 3} (ISO weekdays, Monday 1); empty: every day. Refuses anything else."""
    out = set()
    for part in (text or "").replace("，", ",").split(","):
        if part.strip():
            if not part.strip().isdigit() or not 1 <= int(part) <= 7:
                raise ValueError(part)
            out.add(int(part))
    return frozenset(out)


def on_duty(*, weekdays: str, start: time, end: time, modality: str | None, at_local: datetime,
            exam_modality: str) -> bool:
    """True when a roster line covers this exam's modality at `at_local` (site time).

    A line without a modality covers every modality; without weekdays, every day. A window whose end is not
    after its start crosses midnight: its after-midnight part belongs to the previous day's line.
    """
    if modality and modality != exam_modality:
        return False
    days = parse_weekdays(weekdays)
    t, wd = at_local.time(), at_local.isoweekday()
    if start < end:
        return (not days or wd in days) and start <= t < end
    prev = 7 if wd == 1 else wd - 1
    return (t >= start and (not days or wd in days)) or (t < end and (not days or prev in days))


# ---- the worklist (issue 15 item 3) -----------------------------------------------------------------------
READING_DEPARTMENT: Final[Mapping[str, str]] = {"US": "USD"}  # other modalities: 放射科 RAD
DEFAULT_READING_DEPARTMENT: Final = "RAD"


def reading_department(modality: str) -> str:
    """The imaging department that reads a modality (ultrasound -> 超声科 USD, the rest -> 放射科 RAD)."""
    return READING_DEPARTMENT.get(modality, DEFAULT_READING_DEPARTMENT)


def worklist_key(*, urgent: bool, due_at: datetime | None, created_at: datetime, exam_id: int
                 ) -> tuple[int, datetime, datetime, int]:
    """Worklist order: emergency exams with a deadline pinned on top, soonest deadline first; then the rest
    by registration time."""
    pinned = urgent and due_at is not None
    return (0 if pinned else 1, due_at if pinned and due_at else created_at, created_at, exam_id)


def countdown_text(minutes: int) -> str:
    """'剩余 12 分钟' before the deadline, '超时 5 分钟' after it."""
    return f"剩余 {minutes} 分钟" if minutes >= 0 else f"超时 {-minutes} 分钟"
