"""The exam timeline and the one function through which every procedure status changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import Exam, ExamEvent, QueueTicket
from backend.domain.actor import Actor
from backend.domain.catalog import TIMELINE_EVENT, TimelineKind
from backend.domain.dispatch import TICKET_CLOSED_BY_START
from backend.domain.errors import NotFound
from backend.domain.events import Event, exam_rooms, for_audiences, ticket_rooms
from backend.domain.exam_flow import (
    CLOSES_TICKET,
    EXAM_STATUS_LABELS,
    TRIGGER_EVENT,
    ExamStatus,
    Trigger,
    next_status,
)
from backend.domain.permissions import trigger_permission
from backend.domain.queue_flow import OPEN_TICKET, TicketStatus, TicketTrigger, next_ticket_status
from backend.services import audit
from backend.services.base import Services, Tx, transaction
from backend.services.cockpit import rollups
from backend.services.reporting import due


def append(tx: Tx, exam: Exam, kind: TimelineKind, actor: Actor, *, rooms: tuple[str, ...] | None = None,
           **details: Any) -> ExamEvent:
    """Append a timeline row for `exam` in the caller's transaction and queue its catalogue event (to `rooms`
    if given, else the staff exam lists and the cockpit)."""
    kind = TimelineKind(kind)  # a name outside the catalogue fails here, before anything is written
    row = ExamEvent(exam_id=exam.id, kind=kind.value, at=tx.now, actor=actor.label, details=details)
    tx.session.add(row)
    rollups.on_event(tx, exam, kind)  # cockpit counters move in the same transaction
    name = TIMELINE_EVENT[kind]
    if name is None:
        return row
    event = Event(
        name=name,
        payload={"exam_id": exam.id, "accession": exam.accession, "status": exam.status,
                 "report_status": exam.report_status, "kind": kind.value, "at": tx.now.isoformat(), **details},
        rooms=rooms if rooms is not None else exam_rooms(),
    )
    for part in for_audiences(event):  # public rooms (screens, kiosks) never hear staff details
        tx.publish(part)
    return row


def load_exam(tx: Tx, exam_id: int, *, lock: bool = True) -> Exam:
    """Load an exam (row-locked on PostgreSQL) or raise NotFound."""
    q = select(Exam).where(Exam.id == exam_id)
    if lock:
        q = q.with_for_update(of=Exam)
    exam = tx.session.scalars(q).first()
    if exam is None:
        raise NotFound(f"检查不存在：{exam_id}", code="exam_not_found")
    return exam


def apply_in(tx: Tx, exam: Exam, trigger: Trigger, actor: Actor, **details: Any) -> ExamStatus:
    """Change the procedure status inside the caller's transaction, with its timeline row."""
    before = ExamStatus(exam.status)
    after = next_status(before, trigger)
    exam.status = after.value
    exam.updated_at = tx.now
    if trigger is Trigger.COMPLETE:
        due.set_due(tx, exam)  # the report deadline starts at the end of the exam (ER-1)
    append(tx, exam, TRIGGER_EVENT[trigger], actor, **{"from": before.value, "to": after.value, **details})
    audit.record(tx, actor, TRIGGER_EVENT[trigger].value, "exam", exam.id, to=after.value)
    if trigger in CLOSES_TICKET:
        _close_ticket(tx, exam, actor)
    if trigger is Trigger.START:
        _ticket_started(tx, exam, actor)
    return after


def _ticket_started(tx: Tx, exam: Exam, actor: Actor) -> None:
    """An exam started without its ticket being called (e.g. through the API while it waited in the pool):
    the ticket is done, so no room calls the patient any more (issue 15 item 10)."""
    ticket = tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam.id)).first()
    if ticket is None or ticket.status not in (TicketStatus.WAITING.value, TicketStatus.MISSED.value):
        return
    if ticket.status == TicketStatus.MISSED.value:
        ticket.status = next_ticket_status(TicketStatus.MISSED, TicketTrigger.REQUEUE).value
    ticket.status = next_ticket_status(TicketStatus.WAITING, TicketTrigger.FINISH).value
    rooms = ticket_rooms(queue_id=ticket.queue_id, campus_id=exam.campus_id, room_ids=[ticket.room_id])
    append(tx, exam, TimelineKind.TICKET_DONE, actor, rooms=rooms, ticket_id=ticket.id, queue_id=ticket.queue_id,
           room_id=ticket.room_id, campus_id=exam.campus_id, code=ticket.code, status=ticket.status,
           reason=TICKET_CLOSED_BY_START)


def _close_ticket(tx: Tx, exam: Exam, actor: Actor) -> None:
    ticket = tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam.id)).first()
    if ticket is None or TicketStatus(ticket.status) not in OPEN_TICKET:
        return
    ticket.status = next_ticket_status(TicketStatus(ticket.status), TicketTrigger.CANCEL).value
    rooms = ticket_rooms(queue_id=ticket.queue_id, campus_id=exam.campus_id, room_ids=[ticket.room_id])
    append(tx, exam, TimelineKind.TICKET_CANCELLED, actor, rooms=rooms, ticket_id=ticket.id,
           queue_id=ticket.queue_id, room_id=ticket.room_id, campus_id=exam.campus_id, code=ticket.code,
           status=ticket.status)


def apply(svc: Services, exam_id: int, trigger: Trigger, *, by: Actor, **details: Any) -> dict[str, Any]:
    """Apply `trigger` to one exam: refused with InvalidTransition (nothing changes) when illegal."""
    by.require(trigger_permission(trigger.value))
    with transaction(svc) as tx:
        exam = load_exam(tx, exam_id)
        after = apply_in(tx, exam, trigger, by, **details)
        return {"exam_id": exam.id, "accession": exam.accession, "status": after.value,
                "status_label": EXAM_STATUS_LABELS[after]}


def events_of(svc: Services, exam_id: int) -> list[dict[str, Any]]:
    """The whole timeline of one exam, oldest first."""
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(
            select(ExamEvent).where(ExamEvent.exam_id == exam_id).order_by(ExamEvent.at, ExamEvent.id)
        )
        return [{"kind": r.kind, "at": r.at.isoformat(), "actor": r.actor, "details": r.details} for r in rows]
