"""Reads shared by ultrasound dispatch: which queues are dispatched, open sessions, room loads, room locks.

A queue is *dispatched* when an active shift links it: its unplaced tickets then wait in the pool that
only triage (auto or manual) empties, and a room calls only the patients triaged to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from backend.db.models import QueueRoom, QueueTicket, Room
from backend.db.models.ultrasound import Shift, ShiftQueue, ShiftSession
from backend.domain.dispatch import RoomLoad, capacity
from backend.domain.queue_flow import ROOM_LOAD, line_start
from backend.services.base import Tx


@dataclass(frozen=True, slots=True)
class OpenSession:
    session_id: int
    room_id: int
    room_code: str
    user_id: int
    shift_id: int
    max_auto: int
    typist_weight: float
    with_typist: bool

    @property
    def capacity(self) -> int:
        return capacity(self.max_auto, self.typist_weight, with_typist=self.with_typist)


def dispatched_queue_ids(tx: Tx, queue_ids: Iterable[int] | None = None) -> set[int]:
    """Queues linked to an active shift (optionally only among `queue_ids`)."""
    q = select(ShiftQueue.queue_id).join(Shift, Shift.id == ShiftQueue.shift_id).where(Shift.active.is_(True))
    if queue_ids is not None:
        q = q.where(ShiftQueue.queue_id.in_(list(queue_ids)))
    return set(tx.session.scalars(q))


def _sessions_query(tx: Tx, *, queue_id: int | None, room_ids: Iterable[int] | None,
                    include_paused: bool) -> Select[int, int, str, int, int, int, float, bool]:
    q = (select(ShiftSession.id, ShiftSession.room_id, Room.code, ShiftSession.user_id, Shift.id,
                Shift.max_auto, Shift.typist_weight, ShiftSession.with_typist)
         .join(Shift, Shift.id == ShiftSession.shift_id).join(Room, Room.id == ShiftSession.room_id)
         .where(ShiftSession.ended_at.is_(None), Room.active.is_(True),
                or_(ShiftSession.ends_at.is_(None), ShiftSession.ends_at > tx.now)))
    if not include_paused:
        q = q.where(ShiftSession.paused_at.is_(None))
    if queue_id is not None:
        q = q.where(ShiftSession.shift_id.in_(select(ShiftQueue.shift_id).where(ShiftQueue.queue_id == queue_id)),
                    ShiftSession.room_id.in_(select(QueueRoom.room_id).where(QueueRoom.queue_id == queue_id)))
    if room_ids is not None:
        q = q.where(ShiftSession.room_id.in_(list(room_ids)))
    return q.order_by(Room.code)


def open_sessions(tx: Tx, *, queue_id: int | None = None, room_ids: Iterable[int] | None = None,
                  include_paused: bool = False) -> list[OpenSession]:
    """Open sessions (one per room), optionally only those in `room_ids` or serving `queue_id`: a room
    serves a queue when both its shift and the room itself link it (issue 15 item 6). A paused room and a
    session past its end (the expiry job closes it soon) take no patients."""
    q = _sessions_query(tx, queue_id=queue_id, room_ids=room_ids, include_paused=include_paused)
    return [OpenSession(*row) for row in tx.session.execute(q)]


def serving_loads(tx: Tx, queue_id: int) -> tuple[list[OpenSession], list[RoomLoad]]:
    """The open sessions serving `queue_id` (as `open_sessions`) and their rooms' loads, in one read."""
    q = _sessions_query(tx, queue_id=queue_id, room_ids=None, include_paused=False).add_columns(
        _load(tx, ShiftSession.room_id))
    sessions, room_loads = [], []
    for *row, count in tx.session.execute(q):
        s = OpenSession(*row)
        sessions.append(s)
        room_loads.append(RoomLoad(s.room_id, s.room_code, s.capacity, int(count)))
    return sessions, room_loads


def session_queue_ids(tx: Tx, shift_id: int, room_id: int | None = None) -> list[int]:
    """The shift's queues; with `room_id`, only those the room serves too (what the room may receive)."""
    q = select(ShiftQueue.queue_id).where(ShiftQueue.shift_id == shift_id)
    if room_id is not None:
        q = q.where(ShiftQueue.queue_id.in_(select(QueueRoom.queue_id).where(QueueRoom.room_id == room_id)))
    return list(tx.session.scalars(q))


def _load(tx: Tx, room_id: InstrumentedAttribute[int]) -> ScalarSelect[int]:
    """A room's current load: its tickets in the load statuses of the current lines (open tickets carry
    over midnight), as a count correlated to `room_id`."""
    return (select(func.count()).select_from(QueueTicket).where(
        QueueTicket.room_id == room_id, QueueTicket.day >= line_start(tx.now.astimezone(tx.tz).date()),
        QueueTicket.status.in_(ROOM_LOAD)).scalar_subquery())


def loads(tx: Tx, room_ids: Iterable[int]) -> dict[int, int]:
    """The current load of each room (one read)."""
    ids = list(room_ids)
    if not ids:
        return {}
    out = dict.fromkeys(ids, 0)
    out.update({int(r): int(n) for r, n in tx.session.execute(select(Room.id, _load(tx, Room.id))
                                                              .where(Room.id.in_(ids)))})
    return out


def _lock_rooms_where(tx: Tx, condition: ColumnElement[bool]) -> None:
    """Row-lock the rooms matching `condition` in id order, in one statement (PostgreSQL FOR UPDATE; SQLite
    writers are already serialized by BEGIN IMMEDIATE). Every room lock is taken this way, so every
    transaction takes its room locks in one ascending order."""
    list(tx.session.scalars(select(Room.id).where(condition).order_by(Room.id).with_for_update()))


def lock_rooms(tx: Tx, room_ids: Iterable[int]) -> None:
    """Row-lock rooms: every change of a room's load by triage happens under its room lock."""
    ids = sorted(set(room_ids))
    if ids:
        _lock_rooms_where(tx, Room.id.in_(ids))


def lock_rooms_and_partners(tx: Tx, room_ids: Iterable[int]) -> None:
    """Row-lock `room_ids` and every room serving a queue that one of them serves. Ending a session (close,
    pause, expiry, switch) sends the room's waiting patients back to triage, which locks the rooms serving
    their queues: taken here first, in the one ascending order, as a check-in's triage takes its own (a
    subset), neither can hold a room the other waits for while waiting for one the other holds."""
    ids = sorted(set(room_ids))
    if ids:
        partners = select(QueueRoom.room_id).where(
            QueueRoom.queue_id.in_(select(QueueRoom.queue_id).where(QueueRoom.room_id.in_(ids))))
        _lock_rooms_where(tx, or_(Room.id.in_(ids), Room.id.in_(partners)))


def lock_queue_rooms(tx: Tx, queue_id: int) -> None:
    """Row-lock every room that serves `queue_id`: the candidates of a triage decision. Their open sessions,
    read after this, hold until the commit (opening, pausing or closing a session takes its room's lock
    too), so one read under the locks is enough."""
    _lock_rooms_where(tx, Room.id.in_(select(QueueRoom.room_id).where(QueueRoom.queue_id == queue_id)))
