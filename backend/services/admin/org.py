"""Admin upkeep of rooms (检查室) and queues (队列) with the rooms that serve each queue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, select

from backend.db.models import Campus, Exam, ExamItem, Modality, Queue, QueueRoom, QueueTicket, Room, Slot, User
from backend.db.models.ultrasound import ShiftSession
from backend.domain.actor import Actor
from backend.domain.admin_rules import clean_code, clean_name, clean_prefix
from backend.domain.enums import MODALITY_LABELS
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, Tx, transaction


def _count(tx: Tx, model: Any, *where: Any) -> int:
    return int(tx.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _check_campus_modality(tx: Tx, campus_id: int | None, modality: str | None) -> None:
    if campus_id is None or tx.session.get(Campus, campus_id) is None:
        raise InvalidInput(f"院区不存在：{campus_id}", code="unknown_campus")
    if modality is None or tx.session.get(Modality, modality) is None:
        raise InvalidInput(f"设备类型不存在：{modality}", code="unknown_modality")


# ---- rooms ---------------------------------------------------------------------------------------------

def room_dict(r: Room, queue_codes: Iterable[str] = ()) -> dict[str, Any]:
    return {"id": r.id, "code": r.code, "name": r.name, "campus_id": r.campus_id, "modality": r.modality_code,
            "modality_label": MODALITY_LABELS.get(r.modality_code, r.modality_code), "location": r.location,
            "active": r.active, "queues": sorted(queue_codes)}


def list_rooms(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Every room with the queues it serves."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        served: dict[int, list[str]] = {}
        for room_id, code in tx.session.execute(select(QueueRoom.room_id, Queue.code).join(Queue)):
            served.setdefault(room_id, []).append(code)
        return [room_dict(r, served.get(r.id, []))
                for r in tx.session.scalars(select(Room).order_by(Room.campus_id, Room.code))]


def _get_room(tx: Tx, room_id: int) -> Room:
    room = tx.session.get(Room, room_id)
    if room is None:
        raise NotFound(f"检查室不存在：{room_id}", code="room_not_found")
    return room


def _apply_room(tx: Tx, room: Room, values: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"name", "campus_id", "modality", "location", "active"}
    if set(values) - allowed:
        raise InvalidInput(f"不可修改的字段：{', '.join(sorted(set(values) - allowed))}", code="invalid_field")
    current: dict[str, Any] = {"name": room.name, "campus_id": room.campus_id, "modality": room.modality_code,
               "location": room.location or "", "active": room.active}
    v = current | dict(values)
    v["name"] = clean_name(v["name"], what="检查室")
    v["location"] = (v["location"] or "").strip()[:64]
    _check_campus_modality(tx, v["campus_id"], v["modality"])
    if room.id is not None and v["campus_id"] != current["campus_id"] and _count(
            tx, QueueRoom, QueueRoom.room_id == room.id):
        raise Conflict("该检查室仍服务于其他院区的队列，请先在队列中移除后再改院区", code="room_in_queue")
    room.name, room.campus_id, room.modality_code = v["name"], v["campus_id"], v["modality"]
    room.location, room.active = v["location"], bool(v["active"])
    return {k: v[k] for k in allowed if v[k] != current[k]}


def create_room(svc: Services, *, code: str, by: Actor, **values: Any) -> dict[str, Any]:
    """Add a room; codes are unique."""
    by.require(Perm.ADMIN)
    code = clean_code(code, what="检查室")
    with transaction(svc) as tx:
        if tx.session.scalars(select(Room.id).where(Room.code == code)).first() is not None:
            raise Conflict(f"检查室编码已存在：{code}", code="duplicate_code")
        room = Room(code=code, name="", campus_id=values.get("campus_id", 0), modality_code="", location="",
                    active=True)
        _apply_room(tx, room, {"modality": "", **values})
        tx.session.add(room)
        tx.session.flush()
        audit.record(tx, by, "create", "room", room.id, code=code)
        return room_dict(room)


def _open_shift_holder(tx: Tx, room_id: int) -> str | None:
    """The doctor holding an open ultrasound shift session in the room, or None."""
    row = tx.session.execute(select(User.display_name).join(ShiftSession, ShiftSession.user_id == User.id).where(
        ShiftSession.room_id == room_id, ShiftSession.ended_at.is_(None))).first()
    return None if row is None else str(row[0])


def update_room(svc: Services, room_id: int, *, by: Actor, **changes: Any) -> dict[str, Any]:
    """Edit a room (name, campus, modality, location, active). Closing a room while a shift is open there
    is refused with the reason (its patients would have nowhere to go): end the shift first, which sends
    them back to triage (issue 15 item 4)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        room = _get_room(tx, room_id)
        if changes.get("active") is False and room.active and (holder := _open_shift_holder(tx, room_id)):
            raise Conflict(f"{room.name}有进行中的超声班次（{holder}），请先在分诊台结班（候检患者将重新分诊）再停用",
                           code="room_has_open_shift")
        changed = _apply_room(tx, room, changes)
        audit.record(tx, by, "update", "room", room.id, **changed)
        served = tx.session.scalars(select(Queue.code).join(QueueRoom, QueueRoom.queue_id == Queue.id)
                                    .where(QueueRoom.room_id == room.id))
        return room_dict(room, served)


def delete_room(svc: Services, room_id: int, *, by: Actor) -> None:
    """Delete a room no exam or ticket ever used; otherwise it can only be deactivated."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        room = _get_room(tx, room_id)
        used = _count(tx, Exam, Exam.room_id == room.id) + _count(
            tx, QueueTicket, (QueueTicket.room_id == room.id) | (QueueTicket.first_room_id == room.id))
        if used:
            raise Conflict("该检查室已有检查记录，不能删除，请改为停用", code="room_in_use")
        tx.session.execute(delete(QueueRoom).where(QueueRoom.room_id == room.id))
        audit.record(tx, by, "delete", "room", room.id, code=room.code)
        tx.session.delete(room)


# ---- queues --------------------------------------------------------------------------------------------

def queue_dict(q: Queue, room_ids: Iterable[int] = ()) -> dict[str, Any]:
    return {"id": q.id, "code": q.code, "name": q.name, "prefix": q.prefix, "campus_id": q.campus_id,
            "modality": q.modality_code, "modality_label": MODALITY_LABELS.get(q.modality_code, q.modality_code),
            "active": q.active, "room_ids": sorted(room_ids)}


def list_queues(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Every queue with the ids of the rooms serving it."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        rooms: dict[int, list[int]] = {}
        for queue_id, room_id in tx.session.execute(select(QueueRoom.queue_id, QueueRoom.room_id)):
            rooms.setdefault(queue_id, []).append(room_id)
        return [queue_dict(q, rooms.get(q.id, []))
                for q in tx.session.scalars(select(Queue).order_by(Queue.campus_id, Queue.code))]


def _get_queue(tx: Tx, queue_id: int) -> Queue:
    queue = tx.session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(f"队列不存在：{queue_id}", code="queue_not_found")
    return queue


def _set_rooms(tx: Tx, queue: Queue, room_ids: Iterable[int]) -> list[int]:
    """Replace the rooms serving `queue`; each must exist and be on the queue's campus."""
    wanted = sorted(set(room_ids))
    rooms = list(tx.session.scalars(select(Room).where(Room.id.in_(wanted)))) if wanted else []
    if len(rooms) != len(wanted):
        raise InvalidInput("所选检查室不存在", code="unknown_room")
    other = [r.name for r in rooms if r.campus_id != queue.campus_id]
    if other:
        raise InvalidInput(f"检查室不在该队列的院区：{'、'.join(other)}", code="room_wrong_campus")
    tx.session.execute(delete(QueueRoom).where(QueueRoom.queue_id == queue.id))
    tx.session.add_all(QueueRoom(queue_id=queue.id, room_id=r) for r in wanted)
    return wanted


def _apply_queue(tx: Tx, queue: Queue, values: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"name", "prefix", "campus_id", "modality", "active"}
    if set(values) - allowed:
        raise InvalidInput(f"不可修改的字段：{', '.join(sorted(set(values) - allowed))}", code="invalid_field")
    current: dict[str, Any] = {"name": queue.name, "prefix": queue.prefix, "campus_id": queue.campus_id,
               "modality": queue.modality_code, "active": queue.active}
    v = current | dict(values)
    v["name"] = clean_name(v["name"], what="队列")
    v["prefix"] = clean_prefix(v["prefix"])
    _check_campus_modality(tx, v["campus_id"], v["modality"])
    clash = select(Queue.name).where(Queue.campus_id == v["campus_id"], Queue.prefix == v["prefix"])
    if queue.id is not None:
        clash = clash.where(Queue.id != queue.id)
    if (other := tx.session.scalars(clash).first()) is not None:
        raise Conflict(f"同一院区的叫号前缀不能重复：“{v['prefix']}”已被队列“{other}”使用",
                       code="duplicate_prefix")
    queue.name, queue.prefix, queue.campus_id = v["name"], v["prefix"], v["campus_id"]
    queue.modality_code, queue.active = v["modality"], bool(v["active"])
    return {k: v[k] for k in allowed if v[k] != current[k]}


def create_queue(svc: Services, *, code: str, by: Actor, room_ids: Iterable[int] = (), **values: Any
                 ) -> dict[str, Any]:
    """Add a queue; its code is unique and its ticket prefix unique on its campus."""
    by.require(Perm.ADMIN)
    code = clean_code(code, what="队列")
    with transaction(svc) as tx:
        if tx.session.scalars(select(Queue.id).where(Queue.code == code)).first() is not None:
            raise Conflict(f"队列编码已存在：{code}", code="duplicate_code")
        queue = Queue(code=code, name="", prefix="", campus_id=0, modality_code="", active=True)
        _apply_queue(tx, queue, {"modality": "", "prefix": "", "campus_id": 0, **values})
        tx.session.add(queue)
        tx.session.flush()
        rooms = _set_rooms(tx, queue, room_ids)
        audit.record(tx, by, "create", "queue", queue.id, code=code, rooms=rooms)
        return queue_dict(queue, rooms)


def update_queue(svc: Services, queue_id: int, *, by: Actor, room_ids: Iterable[int] | None = None,
                 **changes: Any) -> dict[str, Any]:
    """Edit a queue and, when given, the rooms that serve it."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        queue = _get_queue(tx, queue_id)
        changed = _apply_queue(tx, queue, changes)
        if room_ids is not None:
            changed["rooms"] = _set_rooms(tx, queue, room_ids)
        elif "campus_id" in changed:
            _set_rooms(tx, queue, tx.session.scalars(select(QueueRoom.room_id).where(QueueRoom.queue_id == queue.id)))
        rooms = list(tx.session.scalars(select(QueueRoom.room_id).where(QueueRoom.queue_id == queue.id)))
        audit.record(tx, by, "update", "queue", queue.id, **changed)
        return queue_dict(queue, rooms)


def delete_queue(svc: Services, queue_id: int, *, by: Actor) -> None:
    """Delete a queue that has no items, slots or tickets; otherwise deactivate it."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        queue = _get_queue(tx, queue_id)
        used = (_count(tx, ExamItem, ExamItem.queue_id == queue.id) + _count(tx, Slot, Slot.queue_id == queue.id)
                + _count(tx, QueueTicket, QueueTicket.queue_id == queue.id))
        if used:
            raise Conflict("该队列已被检查项目、号源或排队记录使用，不能删除，请改为停用", code="queue_in_use")
        tx.session.execute(delete(QueueRoom).where(QueueRoom.queue_id == queue.id))
        audit.record(tx, by, "delete", "queue", queue.id, code=queue.code)
        tx.session.delete(queue)
