"""A missed (过号) patient who checks in again goes back to the line of the room first assigned."""

from __future__ import annotations

from sqlalchemy import select

from backend.db.models import Exam, QueueTicket
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.errors import Conflict
from backend.domain.queue_flow import TicketTrigger
from backend.domain.queueing import RequeueRule, requeue_position
from backend.services import settings_store
from backend.services.base import Tx
from backend.services.patient_flow import tickets


def requeue_missed(tx: Tx, exam: Exam, *, by: Actor) -> QueueTicket:
    """Put the exam's missed ticket back in line by the `queue.requeue_rule` setting (after N, or last)."""
    ticket = tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam.id)
                                .with_for_update(of=QueueTicket)).first()
    if ticket is None:
        raise Conflict("该检查没有排队号", code="no_ticket")
    # The room that last called the patient (a nurse may have moved them since triage, US-11), else the first.
    room_id = ticket.room_id or ticket.first_room_id
    rule = RequeueRule(str(settings_store.get_in(tx, "queue.requeue_rule")))
    n = int(settings_store.get_in(tx, "queue.requeue_after_n"))
    ticket.room_id = room_id
    line = tickets.room_line(tx, room_id) if room_id is not None else tickets.line_of(tx, ticket)
    waiting = [tickets.facts(t) for t in line if t.id != ticket.id]
    ticket.sort_at, ticket.line_at = requeue_position(waiting, priority=ticket.priority, rule=rule, n=n, now=tx.now)
    tickets.move(ticket, TicketTrigger.REQUEUE)
    exam.room_id = room_id
    tickets.record(tx, exam, ticket, TimelineKind.TICKET_REQUEUED, by, rule=rule.value)
    return ticket
