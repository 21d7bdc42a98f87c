"""Admin upkeep of appointment slots (号源): generate idempotently, change capacity, (de)activate."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.db.models import Queue, Slot
from backend.domain.actor import Actor
from backend.domain.admin_rules import MAX_SLOT_DAYS, check_capacity, plan_slots
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.domain.slots import TIME_BANDS
from backend.services import audit
from backend.services.base import Services, Tx, transaction


def slot_dict(s: Slot, tx: Tx) -> dict[str, Any]:
    start, end = s.starts_at.astimezone(tx.tz), s.ends_at.astimezone(tx.tz)
    return {"id": s.id, "queue_id": s.queue_id, "day": s.day.isoformat(), "band": s.band,
            "band_label": TIME_BANDS.get(s.band, s.band), "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"), "starts_at": s.starts_at.isoformat(), "capacity": s.capacity,
            "booked": s.booked, "active": s.active, "past": s.ends_at <= tx.now}


def _get_queue(tx: Tx, queue_id: int) -> Queue:
    queue = tx.session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(f"队列不存在：{queue_id}", code="queue_not_found")
    return queue


def list_slots(svc: Services, queue_id: int, date_from: date, date_to: date, *, by: Actor) -> list[dict[str, Any]]:
    """A queue's slots between two days (inclusive), by start time."""
    by.require(Perm.ADMIN)
    if date_to < date_from or (date_to - date_from).days + 1 > MAX_SLOT_DAYS:
        raise InvalidInput(f"日期范围无效（最多 {MAX_SLOT_DAYS} 天）", code="invalid_date_range")
    with transaction(svc, readonly=True) as tx:
        _get_queue(tx, queue_id)
        q = (select(Slot).where(Slot.queue_id == queue_id, Slot.day >= date_from, Slot.day <= date_to)
             .order_by(Slot.starts_at))
        return [slot_dict(s, tx) for s in tx.session.scalars(q)]


def get_slot(svc: Services, slot_id: int, *, by: Actor) -> dict[str, Any]:
    """One slot with its booked count."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        slot = tx.session.get(Slot, slot_id)
        if slot is None:
            raise NotFound(f"号源不存在：{slot_id}", code="slot_not_found")
        return slot_dict(slot, tx)


def generate(
    svc: Services, queue_id: int, *, date_from: date, date_to: date, hours: Iterable[int], capacity: int,
    by: Actor, length_min: int = 60, weekdays: Iterable[int] = range(7),
) -> dict[str, int]:
    """Add a queue's slots for each day and start hour; a slot that already exists is left as it is."""
    by.require(Perm.ADMIN)
    check_capacity(capacity)
    hour_list, day_list = list(hours), list(weekdays)
    with transaction(svc) as tx:
        queue = _get_queue(tx, queue_id)
        if not queue.active:
            raise InvalidInput("队列已停用，不能生成号源", code="queue_inactive")
        have = {s.astimezone(UTC) for s in tx.session.scalars(select(Slot.starts_at).where(
            Slot.queue_id == queue_id, Slot.day >= date_from, Slot.day <= date_to))}
        wanted = plan_slots(date_from, date_to, hours=hour_list, length_min=length_min, tz=tx.tz,
                            weekdays=day_list)
        plan = [p for p in wanted if p.starts_at not in have]
        tx.session.add_all(Slot(queue_id=queue_id, day=p.day, band=p.band, starts_at=p.starts_at,
                                ends_at=p.ends_at, capacity=capacity, booked=0, active=True) for p in plan)
        try:
            tx.session.flush()
        except IntegrityError as exc:  # another admin generated the same slots a moment ago
            raise Conflict("号源正在被其他人同时生成，请刷新后重试（不会重复生成）", code="slots_race") from exc
        audit.record(tx, by, "generate_slots", "queue", queue_id, date_from=date_from.isoformat(),
                     date_to=date_to.isoformat(), hours=sorted(set(hour_list)), capacity=capacity,
                     created=len(plan))
        return {"created": len(plan), "existing": len(wanted) - len(plan)}


def set_capacity(svc: Services, slot_id: int, capacity: int, *, by: Actor) -> dict[str, Any]:
    """Change a slot's capacity; never below the places already booked (checked in the UPDATE itself)."""
    by.require(Perm.ADMIN)
    check_capacity(capacity)
    with transaction(svc) as tx:
        slot = tx.session.get(Slot, slot_id)
        if slot is None:
            raise NotFound(f"号源不存在：{slot_id}", code="slot_not_found")
        old = slot.capacity
        # A booking may land between our read and write: the WHERE keeps the rule true regardless.
        done = tx.session.execute(
            update(Slot).where(Slot.id == slot_id, Slot.booked <= capacity).values(capacity=capacity)
            .execution_options(synchronize_session=False))
        tx.session.refresh(slot)
        if done.rowcount != 1:  # type: ignore[attr-defined]
            check_capacity(capacity, booked=slot.booked)
        audit.record(tx, by, "set_capacity", "slot", slot.id, old=old, new=capacity)
        return slot_dict(slot, tx)


def set_active(svc: Services, slot_id: int, active: bool, *, by: Actor) -> dict[str, Any]:
    """Deactivate a slot nobody booked (refused otherwise), or reactivate one."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        slot = tx.session.get(Slot, slot_id)
        if slot is None:
            raise NotFound(f"号源不存在：{slot_id}", code="slot_not_found")
        cond = [Slot.id == slot_id] if active else [Slot.id == slot_id, Slot.booked == 0]
        done = tx.session.execute(update(Slot).where(*cond).values(active=active)
                                  .execution_options(synchronize_session=False))
        tx.session.refresh(slot)
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"该时段已有 {slot.booked} 人预约，不能停用；请先改约或取消这些预约",
                           code="slot_has_bookings", booked=slot.booked)
        audit.record(tx, by, "activate" if active else "deactivate", "slot", slot.id)
        return slot_dict(slot, tx)
