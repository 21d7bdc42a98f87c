"""Queue tickets: loading a room's or queue's line in order, the ticket timeline rows and their events."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from backend.db.models import Exam, Queue, QueueRoom, QueueTicket, Room
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.checkin import PRIORITY_RANK
from backend.domain.errors import NotFound
from backend.domain.events import is_public, ticket_rooms
from backend.domain.queue_flow import (
    TICKET_STATUS_LABELS,
    TicketStatus,
    TicketTrigger,
    in_current_lines,
    line_start,
    next_ticket_status,
)
from backend.domain.queueing import TicketFacts, in_order
from backend.services import timeline
from backend.services.base import Tx
from backend.services.patient_flow import dispatch_state


def today(tx: Tx) -> date:
    return tx.now.astimezone(tx.tz).date()


def in_lines(tx: Tx) -> ColumnElement[bool]:
    """Tickets of the current lines: open tickets carry over the day change (queue_flow.CARRY_OVER_DAYS)."""
    return QueueTicket.day >= line_start(today(tx))


def is_current(tx: Tx, ticket: QueueTicket) -> bool:
    """Whether an open ticket still stands in a line (False: stale, the desk re-issues it)."""
    return in_current_lines(ticket.day, today=today(tx))


def facts(t: QueueTicket) -> TicketFacts:
    return TicketFacts(id=t.id, priority=t.priority, sort_at=t.sort_at, line_at=t.line_at or t.checked_in_at)


def room_queue_ids(tx: Tx, room_id: int) -> list[int]:
    return list(tx.session.scalars(select(QueueRoom.queue_id).where(QueueRoom.room_id == room_id)))


def pool_queue_ids(tx: Tx, room_id: int) -> list[int]:
    """Queues whose unplaced tickets the room calls directly (not those under ultrasound dispatch)."""
    qids = room_queue_ids(tx, room_id)
    dispatched = dispatch_state.dispatched_queue_ids(tx, qids) if qids else set()
    return [q for q in qids if q not in dispatched]


def room_line(tx: Tx, room_id: int, *, status: TicketStatus = TicketStatus.WAITING) -> list[QueueTicket]:
    """Current tickets a room may call, in calling order: pinned to it, or unplaced in a queue it serves."""
    qids = pool_queue_ids(tx, room_id)
    cond = QueueTicket.room_id == room_id
    if status == TicketStatus.WAITING and qids:
        cond = or_(cond, (QueueTicket.room_id.is_(None)) & QueueTicket.queue_id.in_(qids))
    rows = list(tx.session.scalars(select(QueueTicket).where(
        in_lines(tx), QueueTicket.status == status.value, cond)))
    by_id = {t.id: t for t in rows}
    return [by_id[f.id] for f in in_order([facts(t) for t in rows])]


def line_of(tx: Tx, ticket: QueueTicket) -> list[QueueTicket]:
    """The waiting line a ticket stands in: its room's if placed, else its whole queue's."""
    if ticket.room_id is not None:
        return room_line(tx, ticket.room_id)
    rows = list(tx.session.scalars(select(QueueTicket).where(
        in_lines(tx), QueueTicket.queue_id == ticket.queue_id,
        QueueTicket.status == TicketStatus.WAITING.value)))
    by_id = {t.id: t for t in rows}
    return [by_id[f.id] for f in in_order([facts(t) for t in rows])]


def _rank() -> ColumnElement[int]:
    """queue_order_key's priority rank as SQL (unknown priorities last, as there)."""
    return case(dict(PRIORITY_RANK), value=QueueTicket.priority, else_=len(PRIORITY_RANK))


def _before(ticket: QueueTicket) -> ColumnElement[bool]:
    """Waiting tickets that queue_order_key puts before `ticket`: the same key compared column by column, so
    the database counts the people ahead instead of the app loading and sorting the whole line."""
    rank = PRIORITY_RANK.get(ticket.priority, len(PRIORITY_RANK))
    line = func.coalesce(QueueTicket.line_at, QueueTicket.checked_in_at)
    line_at = ticket.line_at or ticket.checked_in_at
    return or_(_rank() < rank, and_(_rank() == rank, or_(
        QueueTicket.sort_at < ticket.sort_at, and_(QueueTicket.sort_at == ticket.sort_at, or_(
            line < line_at, and_(line == line_at, QueueTicket.id < ticket.id))))))


def ahead_of(tx: Tx, ticket: QueueTicket) -> int:
    """People waiting before `ticket` in its line (domain.queueing.people_ahead's answer, counted in SQL:
    this runs on every check-in and lines grow through the day). 0 for a ticket that no longer waits."""
    if ticket.status != TicketStatus.WAITING.value:
        return 0
    q = select(func.count()).select_from(QueueTicket).where(
        in_lines(tx), QueueTicket.status == TicketStatus.WAITING.value, QueueTicket.id != ticket.id, _before(ticket))
    if ticket.room_id is not None:
        qids = pool_queue_ids(tx, ticket.room_id)
        q = q.where(or_(QueueTicket.room_id == ticket.room_id,
                        QueueTicket.room_id.is_(None) & QueueTicket.queue_id.in_(qids)))
    else:
        q = q.where(QueueTicket.queue_id == ticket.queue_id)
    return int(tx.session.scalar(q) or 0)


def load_ticket(tx: Tx, ticket_id: int) -> QueueTicket:
    ticket = tx.session.scalars(select(QueueTicket).where(QueueTicket.id == ticket_id)
                                .with_for_update(of=QueueTicket)).first()
    if ticket is None:
        raise NotFound(f"排队号不存在：{ticket_id}", code="ticket_not_found")
    return ticket


def move(ticket: QueueTicket, trigger: TicketTrigger) -> None:
    """Change a ticket's status through the one transition table."""
    ticket.status = next_ticket_status(TicketStatus(ticket.status), trigger).value


def record(tx: Tx, exam: Exam, ticket: QueueTicket, kind: TimelineKind, actor: Actor, *, public: bool = True,
           **extra: Any) -> None:
    """Append the ticket's timeline row and publish its event (no patient names: public rooms hear it).
    `public=False`: staff rooms only (a companion ticket called with its lead: the screens say it once)."""
    tx.session.flush()
    rooms = ticket_rooms(queue_id=ticket.queue_id, campus_id=exam.campus_id,
                         room_ids=[ticket.room_id, extra.get("from_room_id")])
    if not public:
        rooms = tuple(r for r in rooms if not is_public(r))
    timeline.append(tx, exam, kind, actor, rooms=rooms, ticket_id=ticket.id, queue_id=ticket.queue_id,
                    room_id=ticket.room_id, campus_id=exam.campus_id, code=ticket.code, status=ticket.status,
                    **extra)


def ticket_dict(tx: Tx, ticket: QueueTicket) -> dict[str, Any]:
    """A ticket as pages and APIs show it (no patient data)."""
    queue = tx.session.get(Queue, ticket.queue_id)
    room = tx.session.get(Room, ticket.room_id) if ticket.room_id else None
    return {"ticket_id": ticket.id, "exam_id": ticket.exam_id, "code": ticket.code, "number": ticket.number,
            "status": ticket.status, "status_label": TICKET_STATUS_LABELS[TicketStatus(ticket.status)],
            "queue_id": ticket.queue_id, "queue_name": queue.name if queue else "",
            "room_id": ticket.room_id, "room_name": room.name if room else "",
            "priority": ticket.priority, "call_count": ticket.call_count,
            "checked_in_at": ticket.checked_in_at.isoformat(),
            "called_at": ticket.called_at.isoformat() if ticket.called_at else None}
