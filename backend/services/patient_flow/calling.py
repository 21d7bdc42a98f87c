"""The room desk: call next, call again, mark missed, start, finish, transfer; and a room's state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import Exam, QueueTicket, Room
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.dispatch import staff_identity
from backend.domain.errors import Conflict, NotFound
from backend.domain.exam_flow import Trigger, awaiting_start
from backend.domain.permissions import Perm
from backend.domain.queue_flow import TicketStatus, TicketTrigger
from backend.services import timeline
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import tickets, triage


def _room(tx: Tx, room_id: int) -> Room:
    room = tx.session.get(Room, room_id)
    if room is None or not room.active:
        raise NotFound(f"检查室不存在或已停用：{room_id}", code="unknown_room")
    return room


def _exam(tx: Tx, ticket: QueueTicket) -> Exam:
    return timeline.load_exam(tx, ticket.exam_id)


def _called(tx: Tx, room_id: int) -> list[QueueTicket]:
    return tickets.room_line(tx, room_id, status=TicketStatus.CALLED)


def _call(tx: Tx, ticket: QueueTicket, room_id: int, by: Actor, *, public: bool = True) -> dict[str, Any]:
    exam = _exam(tx, ticket)
    tickets.move(ticket, TicketTrigger.CALL)
    ticket.room_id = room_id
    ticket.first_room_id = ticket.first_room_id or room_id
    ticket.called_at, ticket.call_count = tx.now, ticket.call_count + 1
    exam.room_id = room_id
    tickets.record(tx, exam, ticket, TimelineKind.TICKET_CALLED, by, public=public)
    return tickets.ticket_dict(tx, ticket)


def call_next(svc: Services, room_id: int, *, by: Actor) -> dict[str, Any]:
    """Call the first waiting patient of the room's line; refused while a called patient is unhandled."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc) as tx:
        _room(tx, room_id)
        if _called(tx, room_id):
            raise Conflict("请先处理当前患者（开始检查、完成或过号）", code="room_busy")
        for candidate in tickets.room_line(tx, room_id):
            ticket = tickets.load_ticket(tx, candidate.id)
            if triage.patient_busy_elsewhere(tx, ticket, room_id):
                continue  # one patient, one room at a time: called or examined elsewhere now
            if ticket.status == TicketStatus.WAITING.value:
                # One number per visit (issue 15 item 5): her other exams in this room are called with it; the
                # screens announce the number once.
                visit = triage.companions(tx, ticket, TicketStatus.WAITING, room_id)
                called = _call(tx, ticket, room_id, by)
                for other in visit:
                    _call(tx, other, room_id, by, public=False)
                return called
        raise NotFound("当前没有候检患者", code="queue_empty")


def recall(svc: Services, ticket_id: int, *, by: Actor) -> dict[str, Any]:
    """Call the current patient again (the screens repeat the call)."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc) as tx:
        ticket = tickets.load_ticket(tx, ticket_id)
        exam = _exam(tx, ticket)
        tickets.move(ticket, TicketTrigger.RECALL)
        ticket.called_at, ticket.call_count = tx.now, ticket.call_count + 1
        tickets.record(tx, exam, ticket, TimelineKind.TICKET_RECALLED, by)
        return tickets.ticket_dict(tx, ticket)


def mark_missed(svc: Services, ticket_id: int, *, by: Actor) -> dict[str, Any]:
    """Mark a called patient who did not come as missed (过号); they re-queue by checking in again."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc) as tx:
        ticket = tickets.load_ticket(tx, ticket_id)
        exam = _exam(tx, ticket)
        if not awaiting_start(exam.status):
            raise Conflict("检查已开始，不能过号", code="already_started")
        tickets.move(ticket, TicketTrigger.MISS)
        tickets.record(tx, exam, ticket, TimelineKind.TICKET_MISSED, by)
        for other in triage.companions(tx, ticket, TicketStatus.CALLED):  # the patient of the visit did not come
            other_exam = _exam(tx, other)
            if awaiting_start(other_exam.status):
                tickets.move(other, TicketTrigger.MISS)
                tickets.record(tx, other_exam, other, TimelineKind.TICKET_MISSED, by, public=False)
        return tickets.ticket_dict(tx, ticket)


def start_exam(svc: Services, ticket_id: int, *, by: Actor) -> dict[str, Any]:
    """Start the called patient's exam (procedure status in_progress); the ticket stays with the room."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc) as tx:
        ticket = tickets.load_ticket(tx, ticket_id)
        if ticket.status != TicketStatus.CALLED.value:
            raise Conflict("请先叫号再开始检查", code="not_called")
        timeline.apply_in(tx, _exam(tx, ticket), Trigger.START, by, room_id=ticket.room_id)
        return tickets.ticket_dict(tx, ticket)


def finish_exam(svc: Services, ticket_id: int, *, by: Actor) -> dict[str, Any]:
    """Complete the exam and close the ticket; the room may take the next patient."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc) as tx:
        ticket = tickets.load_ticket(tx, ticket_id)
        exam = _exam(tx, ticket)
        timeline.apply_in(tx, exam, Trigger.COMPLETE, by, room_id=ticket.room_id)
        tickets.move(ticket, TicketTrigger.FINISH)
        tickets.record(tx, exam, ticket, TimelineKind.TICKET_DONE, by)
        if ticket.room_id is not None:
            triage.room_freed(tx, ticket.room_id, by)
        return tickets.ticket_dict(tx, ticket)


def transfer(svc: Services, ticket_id: int, room_id: int, *, by: Actor) -> dict[str, Any]:
    """Send a patient who has not started to another room serving the same queue; they keep their place."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc) as tx:
        _room(tx, room_id)
        ticket = tickets.load_ticket(tx, ticket_id)
        exam = _exam(tx, ticket)
        if not awaiting_start(exam.status):
            raise Conflict("检查已开始，不能转诊室", code="already_started")
        if ticket.queue_id not in tickets.room_queue_ids(tx, room_id):
            raise Conflict("目标检查室不服务该队列", code="room_wrong_queue")
        from_room = ticket.room_id
        if ticket.status in (TicketStatus.CALLED.value, TicketStatus.MISSED.value):
            tickets.move(ticket, TicketTrigger.REQUEUE)
        ticket.room_id = room_id
        ticket.code = triage.own_code(tx, ticket)  # it leaves the visit it shared a number with (item 5)
        exam.room_id = room_id
        tickets.record(tx, exam, ticket, TimelineKind.TICKET_TRANSFERRED, by, from_room_id=from_room)
        return tickets.ticket_dict(tx, ticket)


def _row(tx: Tx, t: QueueTicket, names: dict[int, dict[str, Any]]) -> dict[str, Any]:
    exam = tx.session.get(Exam, t.exam_id)
    return {**tickets.ticket_dict(tx, t), **names.get(t.exam_id, {"name": "", "identity": ""}),
            "exam_status": exam.status if exam else "", "accession": exam.accession if exam else ""}


def room_state(svc: Services, room_id: int, *, by: Actor) -> dict[str, Any]:
    """The desk's view: the current (called) patient, the waiting line in order and the missed list."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc, readonly=True) as tx:
        room = _room(tx, room_id)
        called, waiting = _called(tx, room_id), tickets.room_line(tx, room_id)
        missed = tickets.room_line(tx, room_id, status=TicketStatus.MISSED)
        ids = [t.exam_id for t in [*called, *waiting, *missed]]
        # A staff page: the full name, sex, age and MRN to check identity at the door (issue 14 item 9).
        names = {e.id: staff_identity(name=e.patient.name, sex=e.patient.sex, birth=e.patient.birth_date,
                                      mrn=e.patient.mrn, today=tickets.today(tx))
                 for e in tx.session.scalars(select(Exam).where(Exam.id.in_(ids)))}
        return {"room_id": room.id, "room_name": room.name,
                "current": _row(tx, called[0], names) if called else None,
                "waiting": [_row(tx, t, names) for t in waiting],
                "missed": [_row(tx, t, names) for t in missed]}


def rooms(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Active rooms that serve at least one queue, for the desk's room picker."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(Room).where(Room.active.is_(True)).order_by(Room.campus_id, Room.code))
        return [{"id": r.id, "code": r.code, "name": r.name} for r in rows]
