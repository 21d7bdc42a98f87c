"""Shift sessions (US-7, US-8): after signing in, ultrasound staff choose group, shift, room and typist.

One open session per room and per user. A session ends at logout, at hand-over (another doctor takes
the room) or when its holder switches shift; auto-triage sees a room only while it has an open session.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import Department, QueueRoom, Room, User
from backend.db.models.ultrasound import Shift, ShiftGroup, ShiftQueue, ShiftSession
from backend.domain.actor import Actor
from backend.domain.dispatch import SLOT_TYPES, capacity, needs_shift_choice
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import dispatch_state as ds
from backend.services.patient_flow import triage


def _user_id(by: Actor) -> int:
    if by.kind != "user" or by.id is None:
        raise Forbidden("只有员工账号可以选择班次", code="staff_only")
    return by.id


def _open_of_user(tx: Tx, user_id: int) -> ShiftSession | None:
    return tx.session.scalars(select(ShiftSession).where(
        ShiftSession.user_id == user_id, ShiftSession.ended_at.is_(None))).first()


def _open_of_room(tx: Tx, room_id: int) -> ShiftSession | None:
    return tx.session.scalars(select(ShiftSession).where(
        ShiftSession.room_id == room_id, ShiftSession.ended_at.is_(None))).first()


def session_dict(tx: Tx, s: ShiftSession) -> dict[str, Any]:
    shift, room = tx.session.get(Shift, s.shift_id), tx.session.get(Room, s.room_id)
    user = tx.session.get(User, s.user_id)
    assert shift is not None
    assert room is not None
    assert user is not None
    group = tx.session.get(ShiftGroup, shift.group_id)
    return {"id": s.id, "user_id": s.user_id, "user_name": user.display_name, "room_id": s.room_id,
            "room_code": room.code, "room_name": room.name, "shift_id": s.shift_id, "shift_name": shift.name,
            "group_name": group.name if group else "", "slot_label": SLOT_TYPES.get(shift.slot_type, ""),
            "with_typist": s.with_typist, "max_auto": shift.max_auto, "typist_weight": shift.typist_weight,
            "capacity": capacity(shift.max_auto, shift.typist_weight, with_typist=s.with_typist),
            "queue_ids": ds.session_queue_ids(tx, shift.id),
            "started_at": s.started_at.isoformat(), "ended_at": s.ended_at.isoformat() if s.ended_at else None,
            "end_reason": s.end_reason}


def _end(tx: Tx, s: ShiftSession, reason: str, actor: Actor) -> None:
    s.ended_at, s.end_reason = tx.now, reason
    tx.session.flush()
    audit.record(tx, actor, "close", "shift_session", s.id, room_id=s.room_id, reason=reason)


def shift_rooms(tx: Tx, shift: Shift) -> list[Room]:
    """Rooms that may work a shift: active rooms of its campus serving at least one of its queues."""
    qids = select(ShiftQueue.queue_id).where(ShiftQueue.shift_id == shift.id)
    return list(tx.session.scalars(select(Room).where(
        Room.active.is_(True), Room.campus_id == shift.campus_id,
        Room.id.in_(select(QueueRoom.room_id).where(QueueRoom.queue_id.in_(qids)))).order_by(Room.code)))


def open_session(svc: Services, *, by: Actor, shift_id: int, room_id: int, with_typist: bool,
                 take_over: bool = False) -> dict[str, Any]:
    """Start working `shift_id` in `room_id`; ends the caller's previous session; a room held by someone
    else is refused unless `take_over` (hand-over). Auto-triage then fills the room from the pool."""
    by.require(Perm.EXAM_READ)
    user_id = _user_id(by)
    with transaction(svc) as tx:
        shift = tx.session.get(Shift, shift_id)
        if shift is None or not shift.active:
            raise NotFound("班次不存在或已停用", code="shift_not_found")
        if room_id not in {r.id for r in shift_rooms(tx, shift)}:
            raise InvalidInput("该诊室不接诊此班次的队列", code="room_not_in_shift")
        mine = _open_of_user(tx, user_id)
        ds.lock_rooms(tx, [room_id, *([mine.room_id] if mine else [])])
        held = _open_of_room(tx, room_id)
        if held is not None and held.user_id != user_id and not take_over:
            holder = tx.session.get(User, held.user_id)
            raise Conflict(f"该诊室已由{holder.display_name if holder else '他人'}开班，如需接班请选择“接班”",
                           code="room_taken")
        if held is not None:
            _end(tx, held, "handover" if held.user_id != user_id else "switched", by)
        if mine is not None and mine is not held:
            _end(tx, mine, "switched", by)
        s = ShiftSession(user_id=user_id, room_id=room_id, shift_id=shift_id, with_typist=bool(with_typist),
                         started_at=tx.now)
        tx.session.add(s)
        tx.session.flush()
        audit.record(tx, by, "open", "shift_session", s.id, room_id=room_id, shift_id=shift_id,
                     with_typist=bool(with_typist))
        if mine is not None and mine.room_id != room_id:
            triage.session_closed(tx, mine.room_id, by)
        triage.session_opened(tx, room_id, by)
        return session_dict(tx, s)


def close_session(svc: Services, *, by: Actor, reason: str = "closed") -> dict[str, Any] | None:
    """End the caller's open session (logout or "下班"); its waiting patients go back to triage."""
    user_id = _user_id(by)
    with transaction(svc) as tx:
        s = _open_of_user(tx, user_id)
        if s is None:
            return None
        ds.lock_rooms(tx, [s.room_id])
        _end(tx, s, reason, by)
        triage.session_closed(tx, s.room_id, by)
        return session_dict(tx, s)


def current_session(svc: Services, *, by: Actor) -> dict[str, Any] | None:
    """The caller's open session, or None."""
    user_id = _user_id(by)
    with transaction(svc, readonly=True) as tx:
        s = _open_of_user(tx, user_id)
        return session_dict(tx, s) if s is not None else None


def needs_choice(svc: Services, actor: Actor) -> bool:
    """True for ultrasound staff without an open session: they land on the shift page after sign-in."""
    if actor.kind != "user" or actor.id is None or actor.department_id is None:
        return False
    with transaction(svc, readonly=True) as tx:
        dept = tx.session.get(Department, actor.department_id)
        if not needs_shift_choice(dept.code if dept else None, actor.roles):
            return False
        return _open_of_user(tx, actor.id) is None


def choices(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """What the shift page offers: active groups, their active shifts and each shift's rooms."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        out = []
        for g in tx.session.scalars(select(ShiftGroup).where(ShiftGroup.active.is_(True)).order_by(ShiftGroup.name)):
            shifts = tx.session.scalars(select(Shift).where(Shift.group_id == g.id, Shift.active.is_(True))
                                        .order_by(Shift.name))
            out.append({"id": g.id, "name": g.name, "shifts": [
                {"id": s.id, "name": s.name, "slot_label": SLOT_TYPES.get(s.slot_type, ""), "max_auto": s.max_auto,
                 "typist_weight": s.typist_weight,
                 "rooms": [{"id": r.id, "code": r.code, "name": r.name} for r in shift_rooms(tx, s)]}
                for s in shifts]})
        return out
