"""What the triage desk and the room's calling list show (US-10, US-12..US-14): rooms with doctor, shift,
typist, load against the maximum and queued patients; the unassigned pool; waiting counts per queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.db.models import Exam, Queue, QueueRoom, QueueTicket, Room
from backend.db.models.ultrasound import ShiftSession
from backend.domain.actor import Actor
from backend.domain.masking import mask_name
from backend.domain.permissions import Perm
from backend.domain.queue_flow import TicketStatus
from backend.domain.queueing import in_order
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import dispatch_state as ds
from backend.services.patient_flow import shift_sessions, tickets

WAITING = TicketStatus.WAITING.value


def _rows(tx: Tx, rows: list[QueueTicket]) -> list[dict[str, Any]]:
    by_id = {t.id: t for t in rows}
    ordered = [by_id[f.id] for f in in_order([tickets.facts(t) for t in rows])]
    names = {e.id: mask_name(e.patient.name) for e in tx.session.scalars(
        select(Exam).where(Exam.id.in_([t.exam_id for t in rows])))} if rows else {}
    queues = {q.id: q.name for q in tx.session.scalars(select(Queue))}
    return [{"ticket_id": t.id, "exam_id": t.exam_id, "code": t.code, "name": names.get(t.exam_id, ""),
             "queue_id": t.queue_id, "queue_name": queues.get(t.queue_id, ""), "priority": t.priority,
             "room_id": t.room_id, "status": t.status} for t in ordered]


def _room(tx: Tx, room: Room, session: ShiftSession | None, load: int, waiting: list[QueueTicket]) -> dict[str, Any]:
    s = shift_sessions.session_dict(tx, session) if session is not None else None
    return {"room_id": room.id, "room_code": room.code, "room_name": room.name, "session": s,
            "doctor": s["user_name"] if s else "", "shift": s["shift_name"] if s else "",
            "with_typist": bool(s and s["with_typist"]), "max_auto": s["max_auto"] if s else 0,
            "capacity": s["capacity"] if s else 0, "load": load, "queued": len(waiting),
            "full": bool(s) and load >= (s["capacity"] if s else 0), "patients": _rows(tx, waiting)}


def board(svc: Services, *, by: Actor) -> dict[str, Any]:
    """Every dispatched room (open or not) with its load and queued patients, and the unassigned pool."""
    by.require(Perm.TRIAGE)
    with transaction(svc, readonly=True) as tx:
        qids = ds.dispatched_queue_ids(tx)
        open_q = select(ShiftSession).where(ShiftSession.ended_at.is_(None))
        sessions = {s.room_id: s for s in tx.session.scalars(open_q)}
        served = select(QueueRoom.room_id).where(QueueRoom.queue_id.in_(qids))
        room_ids = set(sessions) | set(tx.session.scalars(served))
        rooms = list(tx.session.scalars(select(Room).where(Room.id.in_(room_ids), Room.active.is_(True))
                                        .order_by(Room.campus_id, Room.code)))
        counts = ds.loads(tx, [r.id for r in rooms])
        waiting = list(tx.session.scalars(select(QueueTicket).where(
            tickets.in_lines(tx), QueueTicket.status == WAITING, QueueTicket.queue_id.in_(qids))))
        by_room: dict[int | None, list[QueueTicket]] = {}
        for t in waiting:
            by_room.setdefault(t.room_id, []).append(t)
        return {"rooms": [_room(tx, r, sessions.get(r.id), counts[r.id], by_room.get(r.id, [])) for r in rooms],
                "pool": _rows(tx, by_room.get(None, [])),
                "totals": {"waiting": len(waiting), "pool": len(by_room.get(None, []))}}


def queue_counts(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Patients waiting to be called in each queue of the caller's current shift (US-10)."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        s = tx.session.scalars(select(ShiftSession).where(ShiftSession.user_id == by.id,
                                                          ShiftSession.ended_at.is_(None))).first()
        if s is None:
            return []
        out = []
        for q in tx.session.scalars(select(Queue).where(Queue.id.in_(ds.session_queue_ids(tx, s.shift_id)))
                                    .order_by(Queue.code)):
            base = select(func.count()).select_from(QueueTicket).where(
                QueueTicket.queue_id == q.id, tickets.in_lines(tx), QueueTicket.status == WAITING)
            out.append({"queue_id": q.id, "queue_code": q.code, "queue_name": q.name,
                        "waiting": tx.session.scalar(base) or 0,
                        "pool": tx.session.scalar(base.where(QueueTicket.room_id.is_(None))) or 0,
                        "at_my_room": tx.session.scalar(base.where(QueueTicket.room_id == s.room_id)) or 0})
        return out
