"""Shift sessions (US-7, US-8): after signing in, ultrasound staff choose group, shift, room and typist.

One open session per room and per user. A session ends at logout (when the doctor says so), at hand-over
(another doctor takes the room), when its holder switches shift, when the nurse or the admin closes it,
and by itself at its shift window's end plus a grace (or the day change, `end_expired`); auto-triage sees
a room only while it has an open, unpaused session. Its waiting patients then go back to triage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import Department, Queue, QueueRoom, Room, User
from backend.db.models.ultrasound import Shift, ShiftGroup, ShiftQueue, ShiftSession
from backend.domain.actor import Actor
from backend.domain.catalog import EventName
from backend.domain.dispatch import (
    SLOT_TYPES,
    SessionEnd,
    capacity,
    may_examine,
    may_supervise_rooms,
    needs_shift_choice,
    session_ends_at,
    shift_choice_required,
    shift_window,
)
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.domain.events import Event
from backend.domain.permissions import Perm
from backend.services import audit, settings_store
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
            "end_reason": s.end_reason, "ends_at": s.ends_at.isoformat() if s.ends_at else None,
            "started_local": _local(tx, s.started_at), "ends_local": _local(tx, s.ends_at),
            "paused": s.paused_at is not None, "window": shift_window_text(shift)}


def _local(tx: Tx, at: datetime | None) -> str:
    """A time as the site shows it (site time zone, not UTC): '11-30 08:05'."""
    return at.astimezone(tx.tz).strftime("%m-%d %H:%M") if at else ""


def shift_window_text(shift: Shift) -> str:
    start, end = shift_window(shift.slot_type, shift.start_time, shift.end_time)
    return f"{start:%H:%M}–{end:%H:%M}"


def _ends_at(tx: Tx, shift: Shift) -> datetime:
    grace = int(settings_store.get_in(tx, "us.shift_grace_min"))
    return session_ends_at(tx.now.astimezone(tx.tz), shift_window(shift.slot_type, shift.start_time, shift.end_time),
                           grace_min=grace)


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
    if not may_examine(by.roles):
        # issue 16 item 6: a clerk or a typist may not open (or take over) a room; the nurse and the admin
        # use the explicit room actions (`supervise`).
        raise Forbidden("只有检查医师可以开班或接班，护士与管理员请使用诊室的暂停/结班/接管操作",
                        code="examiner_only")
    with transaction(svc) as tx:
        shift = tx.session.get(Shift, shift_id)
        if shift is None or not shift.active:
            raise NotFound("班次不存在或已停用", code="shift_not_found")
        if room_id not in {r.id for r in shift_rooms(tx, shift)}:
            raise InvalidInput("该诊室不接诊此班次的队列", code="room_not_in_shift")
        mine = _open_of_user(tx, user_id)
        ds.lock_rooms_and_partners(tx, [room_id, *([mine.room_id] if mine else [])])
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
                         started_at=tx.now, ends_at=_ends_at(tx, shift))
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
        ds.lock_rooms_and_partners(tx, [s.room_id])
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


def gate_required(svc: Services, actor: Actor) -> bool:
    """US-7 as a setting (`us.shift_required`, default on): True when this user may not use the other staff
    pages before choosing a shift (a hard gate); off, the shift page is offered but may be skipped."""
    if actor.kind != "user" or actor.id is None or actor.department_id is None:
        return False
    with transaction(svc, readonly=True) as tx:
        dept = tx.session.get(Department, actor.department_id)
        if not shift_choice_required(bool(settings_store.get_in(tx, "us.shift_required")),
                                     dept.code if dept else None, actor.roles):
            return False
        return _open_of_user(tx, actor.id) is None


# ---- the nurse's and the admin's room actions (issue 15 item 9) ---------------------------------------------

ROOM_ACTIONS = ("pause", "resume", "close", "take_over")


def _notice(tx: Tx, room_id: int, text: str) -> None:
    """Tell the triage board and the room's pages (and the hall screens listening to it) what happened."""
    tx.publish(Event(EventName.TICKET_RELEASED, {"room_id": room_id, "notice": text},
                     rooms=("triage", f"room:{room_id}")))


def supervise(svc: Services, room_id: int, action: str, *, by: Actor, to_user_id: int | None = None
              ) -> dict[str, Any]:
    """Pause, resume, close or take over (hand to another examining doctor) the open session of a room."""
    by.require(Perm.TRIAGE)
    if not may_supervise_rooms(by.roles):
        raise Forbidden("只有分诊护士或管理员可以管理诊室班次", code="supervisor_only")
    if action not in ROOM_ACTIONS:
        raise InvalidInput(f"未知操作：{action}", code="invalid_action")
    with transaction(svc) as tx:
        ds.lock_rooms_and_partners(tx, [room_id])
        s = _open_of_room(tx, room_id)
        if s is None:
            raise Conflict("该诊室当前没有进行中的班次", code="no_open_session")
        room = tx.session.get(Room, room_id)
        name = room.name if room else str(room_id)
        if action == "pause":
            if s.paused_at is not None:
                raise Conflict("该诊室已暂停", code="already_paused")
            s.paused_at = tx.now
            audit.record(tx, by, "pause", "shift_session", s.id, room_id=room_id)
            triage.session_closed(tx, room_id, by, reason="room_paused")
            _notice(tx, room_id, f"{name}暂停接诊")
        elif action == "resume":
            if s.paused_at is None:
                raise Conflict("该诊室未暂停", code="not_paused")
            s.paused_at = None
            tx.session.flush()
            audit.record(tx, by, "resume", "shift_session", s.id, room_id=room_id)
            triage.session_opened(tx, room_id, by)
        elif action == "close":
            _end(tx, s, SessionEnd.CLOSED, by)
            triage.session_closed(tx, room_id, by)
            _notice(tx, room_id, f"{name}已结班，候检患者重新分诊")
        else:
            user = tx.session.get(User, to_user_id) if to_user_id else None
            if user is None or not user.active:
                raise InvalidInput("请选择接班医生", code="choose_doctor")
            if not may_examine(user.role_names):
                raise InvalidInput("接班人须为检查医师", code="examiner_only")
            theirs = _open_of_user(tx, user.id)
            if theirs is not None:
                raise Conflict(f"{user.display_name}正在其他诊室的班次中", code="user_busy")
            _end(tx, s, SessionEnd.HANDOVER, by)
            new = ShiftSession(user_id=user.id, room_id=room_id, shift_id=s.shift_id, with_typist=s.with_typist,
                               started_at=tx.now, ends_at=s.ends_at, paused_at=s.paused_at)
            tx.session.add(new)
            tx.session.flush()
            audit.record(tx, by, "take_over", "shift_session", new.id, room_id=room_id, from_session=s.id)
            s = new
        return session_dict(tx, s)


def end_expired(svc: Services, *, by: Actor) -> int:
    """The job: end every session past its window's end + grace (or the day change); patients back to triage."""
    with transaction(svc) as tx:
        expired = list(tx.session.scalars(select(ShiftSession).where(
            ShiftSession.ended_at.is_(None), ShiftSession.ends_at.is_not(None), ShiftSession.ends_at <= tx.now)))
        ds.lock_rooms_and_partners(tx, [s.room_id for s in expired])  # all at once: one ascending order
        for s in expired:
            _end(tx, s, SessionEnd.EXPIRED, by)
            triage.session_closed(tx, s.room_id, by)
        return len(expired)


def room_sessions(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Every open session (for the nurse's and the admin's room actions)."""
    by.require(Perm.TRIAGE)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(ShiftSession).where(ShiftSession.ended_at.is_(None)))
        return [session_dict(tx, s) for s in rows]


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
                 "typist_weight": s.typist_weight, "window": shift_window_text(s),
                 "rooms": [{"id": r.id, "code": r.code, "name": r.name, "unserved": _unserved(tx, s, r.id)}
                           for r in shift_rooms(tx, s)]}
                for s in shifts]})
        return out


def _unserved(tx: Tx, shift: Shift, room_id: int) -> list[str]:
    """The shift's queues this room is not set up for: the shift page warns (those patients never come here)."""
    room_q = select(QueueRoom.queue_id).where(QueueRoom.room_id == room_id)
    return list(tx.session.scalars(select(Queue.name).join(ShiftQueue, ShiftQueue.queue_id == Queue.id).where(
        ShiftQueue.shift_id == shift.id, Queue.id.not_in(room_q)).order_by(Queue.code)))
