"""Emergency-report reminders (ER-1, ER-2): find reports about to fall due, push a popup to the doctor who
holds the task now, escalate overdue ones to the seniors, and record what each doctor did with it.

任务医生 (issue 15 item 1): the turnaround target counts to approval. Before submission the writer holds the
task: the report's author, else the doctors on the emergency duty roster for the modality now (item 2), else
the department's radiologists (US -> 超声科 USD, others -> 放射科 RAD). Once submitted, the reviewer holds
it: the seniors on duty for the modality, else every active senior; the author is never a reviewer. A doctor
who no longer holds the task (submitted, or another doctor took it) has their open reminder closed and the
popup cleared; opening the report from a reminder clears the others' reminders of that exam. Escalation
goes to every active senior radiologist once `er.escalate_after_min` has passed after the deadline.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from backend.db.models import Department, Exam, ExamItem, Patient, Report, User, UserRole
from backend.db.models.cockpit import ErReminder
from backend.db.session import dialect_insert
from backend.domain.actor import SYSTEM, Actor
from backend.domain.catalog import EventName, TimelineKind
from backend.domain.enums import MODALITY_LABELS, PatientClass, Priority, Role
from backend.domain.errors import Forbidden, InvalidInput, NotFound
from backend.domain.events import Event
from backend.domain.exam_flow import NO_REPORT_EXPECTED
from backend.domain.permissions import Perm
from backend.domain.report_flow import REPORT_DONE
from backend.domain.turnaround import (
    OPEN_REMINDER,
    REMINDER_ACTIONS,
    REMINDER_TIMELINE,
    ReminderKind,
    ReminderState,
    TaskStage,
    minutes_left,
    task_stage,
)
from backend.services import settings_store, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.reporting import er_duty

logger = logging.getLogger(__name__)
# Deadlines further in the past than this are not chased any more (the escalation already went out).
HORIZON = timedelta(hours=24)


def _due_exams(tx: Tx, until: datetime) -> list[Exam]:
    """Emergency / stat exams whose report is due by `until` and not yet approved."""
    return list(tx.session.scalars(select(Exam).where(
        Exam.report_due_at.is_not(None), Exam.report_due_at <= until, Exam.report_due_at >= tx.now - HORIZON,
        Exam.report_status.not_in(REPORT_DONE), Exam.status.not_in(NO_REPORT_EXPECTED),
        or_(Exam.patient_class == PatientClass.EMERGENCY, Exam.priority == Priority.STAT))
        .order_by(Exam.report_due_at)))


def _users_with_role(tx: Tx, role: str, dept_code: str | None = None) -> list[int]:
    q = select(User.id).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role,
                                                                          User.active.is_(True))
    if dept_code is not None:
        q = q.join(Department, Department.id == User.department_id).where(Department.code == dept_code)
    return sorted(set(tx.session.scalars(q)))


def recipients(tx: Tx, exam: Exam) -> list[int]:
    """Who holds this exam's report task now (see the module docstring)."""
    author = tx.session.scalars(select(Report.author_id).where(Report.exam_id == exam.id)).first()
    stage = task_stage(exam.report_status)
    if stage is TaskStage.REVIEW:
        pool = er_duty.on_duty_now(tx, exam.modality_code, roles=frozenset({Role.SENIOR_RADIOLOGIST}))
        seniors = pool or _users_with_role(tx, Role.SENIOR_RADIOLOGIST)
        return [u for u in seniors if u != author]
    if stage is TaskStage.FINISHED:
        return []
    if author is not None:
        return [author]
    duty = er_duty.on_duty_now(tx, exam.modality_code,
                               roles=frozenset({Role.RADIOLOGIST, Role.SENIOR_RADIOLOGIST}))
    return duty or _users_with_role(tx, Role.RADIOLOGIST, "USD" if exam.modality_code == "US" else "RAD")


def _close_others(tx: Tx, exam_id: int, keep: list[int], *, kind: ReminderKind = ReminderKind.DUE) -> int:
    """Close the open reminders of this exam whose doctor no longer holds the task, and clear their popups."""
    rows = list(tx.session.execute(select(ErReminder.id, ErReminder.recipient_id).where(
        ErReminder.exam_id == exam_id, ErReminder.kind == kind.value, ErReminder.state.in_(OPEN_REMINDER),
        ErReminder.recipient_id.not_in(keep))))
    n = 0
    for rid, user_id in rows:
        res = tx.session.execute(update(ErReminder).where(ErReminder.id == rid, ErReminder.state.in_(OPEN_REMINDER))
                                 .values(state=ReminderState.CLOSED.value, acted_at=tx.now)
                                 .execution_options(synchronize_session=False))
        if res.rowcount == 1:  # type: ignore[attr-defined]
            tx.publish(Event(EventName.ER_REMINDER_CLEARED, {"id": rid}, rooms=(f"user:{user_id}",)))
            n += 1
    return n


def _payload(tx: Tx, r: ErReminder, exam: Exam) -> dict[str, Any]:
    item = tx.session.get(ExamItem, exam.exam_item_id)
    patient = tx.session.get(Patient, exam.patient_id)
    return {"id": r.id, "exam_id": exam.id, "accession": exam.accession, "kind": r.kind,
            "patient": patient.name if patient else "", "item": item.name if item else "",
            "modality": MODALITY_LABELS.get(exam.modality_code, exam.modality_code),
            "due_at": r.due_at.isoformat(), "due_local": r.due_at.astimezone(tx.tz).strftime("%H:%M"),
            "minutes_left": minutes_left(r.due_at, tx.now), "state": r.state}


def _push(tx: Tx, r: ErReminder, exam: Exam, kind: TimelineKind) -> None:
    """Send the popup to the recipient's room and put the act on the exam's timeline (history only)."""
    tx.publish(Event(EventName.ER_REMINDER, _payload(tx, r, exam), rooms=(f"user:{r.recipient_id}",)))
    timeline.append(tx, exam, kind, SYSTEM, reminder_id=r.id, recipient_id=r.recipient_id, reminder_kind=r.kind)


def _create(tx: Tx, exam: Exam, user_id: int, kind: ReminderKind) -> ErReminder | None:
    """Insert the (exam, user, kind) reminder once; None when it already existed (another run made it)."""
    assert exam.report_due_at is not None
    stmt = dialect_insert(tx.session, ErReminder).values(
        exam_id=exam.id, recipient_id=user_id, kind=kind.value, due_at=exam.report_due_at,
        state=ReminderState.SHOWN.value, reason="",
        created_at=tx.now).on_conflict_do_nothing().returning(ErReminder.id)
    new_id = tx.session.execute(stmt).scalar()
    return None if new_id is None else tx.session.get(ErReminder, new_id)


def _claim(tx: Tx, r: ErReminder, *, to: ReminderState, **extra: Any) -> bool:
    """Move a reminder from its current state with a conditional UPDATE (one of two racers wins)."""
    res = tx.session.execute(update(ErReminder).where(ErReminder.id == r.id, ErReminder.state == r.state)
                             .values(state=to.value, **extra).execution_options(synchronize_session=False))
    if res.rowcount == 1:  # type: ignore[attr-defined]
        tx.session.refresh(r)
        return True
    return False


def scan(svc: Services) -> dict[str, int]:
    """One pass of the reminder job: new reminders, woken snoozes, escalations, and clean-up."""
    counts = {"shown": 0, "resumed": 0, "escalated": 0, "closed": 0}
    with transaction(svc) as tx:
        lead = timedelta(minutes=int(settings_store.get_in(tx, "er.reminder_lead_min")))
        escalate = bool(settings_store.get_in(tx, "er.escalate_to_senior"))
        after = timedelta(minutes=int(settings_store.get_in(tx, "er.escalate_after_min")))
        seniors = _users_with_role(tx, Role.SENIOR_RADIOLOGIST) if escalate else []
        for exam in _due_exams(tx, tx.now + lead):
            holders = recipients(tx, exam)
            counts["closed"] += _close_others(tx, exam.id, holders)
            for user_id in holders:
                if (r := _create(tx, exam, user_id, ReminderKind.DUE)) is not None:
                    _push(tx, r, exam, TimelineKind.ER_REMINDER_SHOWN)
                    counts["shown"] += 1
            assert exam.report_due_at is not None
            if escalate and tx.now >= exam.report_due_at + after:
                for user_id in seniors:
                    if (r := _create(tx, exam, user_id, ReminderKind.ESCALATION)) is not None:
                        _push(tx, r, exam, TimelineKind.ER_REMINDER_ESCALATED)
                        counts["escalated"] += 1
        counts["resumed"] = _wake_snoozed(tx)
        counts["closed"] += _close_done(tx)
    if any(counts.values()):
        logger.info("er reminders: %s", counts)
    return counts


def _wake_snoozed(tx: Tx) -> int:
    n = 0
    rows = tx.session.scalars(select(ErReminder).where(ErReminder.state == ReminderState.SNOOZED,
                                                       ErReminder.snooze_until <= tx.now))
    for r in list(rows):
        exam = tx.session.get(Exam, r.exam_id)
        if exam is not None and exam.report_status not in REPORT_DONE and _claim(tx, r, to=ReminderState.SHOWN):
            _push(tx, r, exam, TimelineKind.ER_REMINDER_SHOWN)
            n += 1
    return n


def _close_done(tx: Tx) -> int:
    """Close open reminders whose report is approved (or exam cancelled) and clear their popups."""
    rows = list(tx.session.execute(select(ErReminder.id, ErReminder.recipient_id).join(
        Exam, Exam.id == ErReminder.exam_id).where(ErReminder.state.in_(OPEN_REMINDER), or_(
            Exam.report_status.in_(REPORT_DONE), Exam.status.in_(NO_REPORT_EXPECTED)))))
    closed = 0
    for rid, user_id in rows:
        res = tx.session.execute(update(ErReminder).where(ErReminder.id == rid, ErReminder.state.in_(OPEN_REMINDER))
                                 .values(state=ReminderState.CLOSED.value, acted_at=tx.now)
                                 .execution_options(synchronize_session=False))
        if res.rowcount == 1:  # type: ignore[attr-defined]
            tx.publish(Event(EventName.ER_REMINDER_CLEARED, {"id": rid}, rooms=(f"user:{user_id}",)))
            closed += 1  # what this pass closed: a racing scheduler's rows are its own to count
    return closed


def pending(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """The reminders waiting for this doctor (a doctor who connects later sees them on load)."""
    by.require(Perm.REPORT_WRITE)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.execute(select(ErReminder, Exam).join(Exam, Exam.id == ErReminder.exam_id).where(
            ErReminder.recipient_id == by.id, Exam.report_status.not_in(REPORT_DONE),
            Exam.status.not_in(NO_REPORT_EXPECTED), or_(ErReminder.state == ReminderState.SHOWN, and_(
                ErReminder.state == ReminderState.SNOOZED, ErReminder.snooze_until <= tx.now)))
            .order_by(ErReminder.due_at))
        return [_payload(tx, r, exam) for r, exam in rows]


def _mine(tx: Tx, reminder_id: int, by: Actor) -> tuple[ErReminder, Exam]:
    r = tx.session.get(ErReminder, reminder_id)
    if r is None:
        raise NotFound(f"提醒不存在：{reminder_id}", code="reminder_not_found")
    if r.recipient_id != by.id:
        raise Forbidden("这条提醒不是发给您的", code="not_your_reminder")
    return r, timeline.load_exam(tx, r.exam_id, lock=False)


def act(svc: Services, reminder_id: int, action: str, *, by: Actor, reason: str = "",
        snooze_min: int = 5) -> dict[str, Any]:
    """Acknowledge (已知晓), snooze (稍后提醒, reason required) or open (打开报告) one reminder."""
    by.require(Perm.REPORT_WRITE)
    reason = reason.strip()[:500]
    if action == "snooze" and not reason:
        raise InvalidInput("请填写稍后提醒的原因", code="reason_required")
    if action == "snooze" and not 1 <= snooze_min <= 120:
        raise InvalidInput("稍后提醒时间须在 1 到 120 分钟之间", code="invalid_snooze")
    state = REMINDER_ACTIONS.get(action)
    if state is None:
        raise InvalidInput(f"未知操作：{action}", code="invalid_action")
    with transaction(svc) as tx:
        r, exam = _mine(tx, reminder_id, by)
        until = tx.now + timedelta(minutes=snooze_min) if action == "snooze" else None
        r.state, r.reason, r.acted_at, r.snooze_until = state.value, reason or r.reason, tx.now, until
        timeline.append(tx, exam, REMINDER_TIMELINE[state], by, rooms=(f"user:{by.id}",), reminder_id=r.id,
                        reason=reason, snooze_min=snooze_min if until else None)
        if state is ReminderState.OPENED and r.kind == ReminderKind.DUE:
            _close_others(tx, exam.id, [r.recipient_id])  # one doctor took it: the others' popups go (item 2)
        return {"id": r.id, "exam_id": exam.id, "state": state.value,
                "snooze_until": until.isoformat() if until else None, "url": report_url(exam.accession)}


def report_url(accession: str) -> str:
    """Where the report editor opens for one exam."""
    return f"/panels/reports/{accession}"
