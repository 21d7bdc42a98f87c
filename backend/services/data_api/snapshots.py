"""Snapshot datasets: the ultrasound rooms' load now, and the cockpit figures now (small; read whole)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.db.models import Campus, QueueTicket, Room, Shift, ShiftSession, User
from backend.domain.dispatch import capacity
from backend.domain.queue_flow import ROOM_LOAD, TicketStatus, line_start
from backend.services.base import Tx
from backend.services.cockpit import board
from backend.services.data_api.cockpit_rows import flatten
from backend.services.data_api.readers import Row

ULTRASOUND = "US"


def _counts(tx: Tx, room_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """The load and waiting patients of each room now, from one grouped read: the rule of ultrasound dispatch
    (`queue_flow.ROOM_LOAD`), open tickets of the day before included (they carry over midnight)."""
    day = tx.now.astimezone(tx.tz).date()
    stmt = (select(QueueTicket.room_id, QueueTicket.status, func.count())
            .where(QueueTicket.room_id.in_(room_ids), QueueTicket.day >= line_start(day),
                   QueueTicket.status.in_(ROOM_LOAD))
            .group_by(QueueTicket.room_id, QueueTicket.status))
    load: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for room_id, status, n in tx.session.execute(stmt):
        if room_id is None:
            continue
        load[room_id] = load.get(room_id, 0) + n
        if status == TicketStatus.WAITING.value:
            waiting[room_id] = n
    return load, waiting


def us_room_load(tx: Tx) -> list[Row]:
    """Every active ultrasound room with its open shift session (if any), load and capacity."""
    rooms = tx.session.execute(select(Room.id, Room.code, Room.name, Campus.code).join(Campus)
                               .where(Room.modality_code == ULTRASOUND, Room.active.is_(True))
                               .order_by(Room.code)).all()
    sessions = {r.room_id: r for r in tx.session.execute(
        select(ShiftSession.room_id, User.display_name, Shift.name, Shift.max_auto, Shift.typist_weight,
               ShiftSession.with_typist)
        .join(Shift, Shift.id == ShiftSession.shift_id).join(User, User.id == ShiftSession.user_id)
        .where(ShiftSession.ended_at.is_(None)))}
    load, waiting = _counts(tx, [r[0] for r in rooms])
    out = []
    for room_id, code, name, campus in rooms:
        s = sessions.get(room_id)
        cap = capacity(s.max_auto, s.typist_weight, with_typist=s.with_typist) if s else 0
        out.append({"room_code": code, "room_name": name, "campus_code": campus, "open": s is not None,
                    "doctor": s.display_name if s else None, "shift": s.name if s else None,
                    "with_typist": bool(s and s.with_typist), "capacity": cap, "load": load.get(room_id, 0),
                    "waiting": waiting.get(room_id, 0), "full": s is not None and load.get(room_id, 0) >= cap,
                    "updated_at": tx.now})
    return out


def cockpit(tx: Tx) -> list[Row]:
    """The cockpit's figures now, computed by the cockpit's own function, as a long table."""
    rows = flatten(board.compute(tx, tx.now), tx.now)
    for r in rows:
        r["updated_at"] = tx.now
    return rows


SNAPSHOTS: dict[str, Any] = {"us_room_load": us_room_load, "cockpit": cockpit}
