"""Shift configuration (US-2..US-6): shift groups (班次组) and shifts (工作班次) with their linked queues."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, select

from backend.db.models import Campus, Department, Queue
from backend.db.models.ultrasound import Shift, ShiftGroup, ShiftQueue, ShiftSession
from backend.domain.actor import Actor
from backend.domain.dispatch import SLOT_TYPES, shift_window, validate_shift
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, Tx, transaction

# The shift form's Chinese labels: errors name the field as the form does, never its internal name.
FIELD_LABELS = {"name": "班次名称", "group_id": "班次组", "campus_id": "院区", "department_id": "科室",
                "slot_type": "时段类型", "max_auto": "自动分诊最大数量", "typist_weight": "打字员权重",
                "active": "启用", "start_time": "开始时间", "end_time": "结束时间"}
SHIFT_FIELDS = ("name", "group_id", "campus_id", "department_id", "slot_type", "max_auto", "typist_weight", "active",
                "start_time", "end_time")


def group_dict(g: ShiftGroup) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "department_id": g.department_id, "active": g.active}


def list_groups(svc: Services, *, by: Actor, active_only: bool = False) -> list[dict[str, Any]]:
    """Shift groups by name (any signed-in staff member may read them to choose a shift)."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        q = select(ShiftGroup).order_by(ShiftGroup.name)
        if active_only:
            q = q.where(ShiftGroup.active.is_(True))
        return [group_dict(g) for g in tx.session.scalars(q)]


def _group(tx: Tx, group_id: int) -> ShiftGroup:
    g = tx.session.get(ShiftGroup, group_id)
    if g is None:
        raise NotFound(f"班次组不存在：{group_id}", code="shift_group_not_found")
    return g


def _group_name(tx: Tx, name: str | None, group_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise InvalidInput("班次组名称不能为空且不超过 64 个字符", code="shift_group_name_required")
    clash = tx.session.scalars(select(ShiftGroup.id).where(ShiftGroup.name == name)).first()
    if clash is not None and clash != group_id:
        raise Conflict(f"班次组名称已存在：{name}", code="shift_group_exists")
    return name


def create_group(svc: Services, *, by: Actor, name: str, department_id: int | None = None,
                 active: bool = True) -> dict[str, Any]:
    """Create a shift group; names are unique."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        _check_department(tx, department_id)
        g = ShiftGroup(name=_group_name(tx, name), department_id=department_id, active=active)
        tx.session.add(g)
        tx.session.flush()
        audit.record(tx, by, "create", "shift_group", g.id, name=g.name)
        return group_dict(g)


def update_group(svc: Services, group_id: int, *, by: Actor, **changes: Any) -> dict[str, Any]:
    """Rename, move or (de)activate a shift group."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        g = _group(tx, group_id)
        if "name" in changes:
            g.name = _group_name(tx, changes["name"], group_id)
        if "department_id" in changes:
            g.department_id = _check_department(tx, changes["department_id"])
        if changes.get("active") is not None:
            g.active = bool(changes["active"])
        audit.record(tx, by, "update", "shift_group", g.id, **{k: v for k, v in changes.items() if k != "name"})
        return group_dict(g)


def delete_group(svc: Services, group_id: int, *, by: Actor) -> None:
    """Delete an empty shift group; a group that still has shifts is refused with the reason."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        g = _group(tx, group_id)
        n = tx.session.scalar(select(func.count()).select_from(Shift).where(Shift.group_id == group_id)) or 0
        if n:
            raise Conflict(f"班次组下还有 {n} 个班次，请先删除或移走这些班次", code="shift_group_in_use")
        tx.session.delete(g)
        audit.record(tx, by, "delete", "shift_group", group_id, name=g.name)


def shift_dict(tx: Tx, s: Shift, queue_ids: Iterable[int] | None = None) -> dict[str, Any]:
    qids = sorted(queue_ids if queue_ids is not None else tx.session.scalars(
        select(ShiftQueue.queue_id).where(ShiftQueue.shift_id == s.id)))
    return {"id": s.id, "name": s.name, "group_id": s.group_id, "campus_id": s.campus_id,
            "department_id": s.department_id, "slot_type": s.slot_type, "slot_label": SLOT_TYPES.get(s.slot_type, ""),
            "max_auto": s.max_auto, "typist_weight": s.typist_weight, "active": s.active, "queue_ids": qids,
            "start_time": s.start_time, "end_time": s.end_time, "window": _window(s)}


def _window(s: Shift) -> str:
    start, end = shift_window(s.slot_type, s.start_time, s.end_time)
    return f"{start:%H:%M}–{end:%H:%M}"


def list_shifts(svc: Services, *, by: Actor, group_id: int | None = None,
                active_only: bool = False) -> list[dict[str, Any]]:
    """Shifts with their queue ids, by group and name."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        q = select(Shift).order_by(Shift.group_id, Shift.name)
        if group_id is not None:
            q = q.where(Shift.group_id == group_id)
        if active_only:
            q = q.where(Shift.active.is_(True))
        links: dict[int, list[int]] = {}
        for sid, qid in tx.session.execute(select(ShiftQueue.shift_id, ShiftQueue.queue_id)):
            links.setdefault(sid, []).append(qid)
        return [shift_dict(tx, s, links.get(s.id, [])) for s in tx.session.scalars(q)]


def _check_department(tx: Tx, department_id: int | None) -> int | None:
    if department_id is not None and tx.session.get(Department, department_id) is None:
        raise InvalidInput("科室不存在", code="unknown_department")
    return department_id


def _check_refs(tx: Tx, values: Mapping[str, Any], queue_ids: list[int]) -> None:
    _group(tx, int(values["group_id"]))
    if tx.session.get(Campus, values["campus_id"]) is None:
        raise InvalidInput("院区不存在", code="unknown_campus")
    _check_department(tx, values.get("department_id"))
    if not queue_ids:
        raise InvalidInput("请至少关联一个队列", code="shift_queues_required")
    queues = list(tx.session.scalars(select(Queue).where(Queue.id.in_(queue_ids))))
    if len(queues) != len(set(queue_ids)):
        raise InvalidInput("关联的队列不存在", code="unknown_queue")
    wrong = [q.name for q in queues if q.campus_id != values["campus_id"]]
    if wrong:
        raise InvalidInput(f"队列不属于该院区：{'、'.join(wrong)}", code="queue_wrong_campus")


def _apply(tx: Tx, shift: Shift, values: Mapping[str, Any], queue_ids: list[int] | None) -> None:
    merged = {k: getattr(shift, k) for k in SHIFT_FIELDS} | {k: v for k, v in values.items() if k in SHIFT_FIELDS}
    merged["name"] = str(merged.get("name") or "").strip()
    for k in ("start_time", "end_time"):
        merged[k] = (str(merged.get(k) or "").strip() or None)
    shift_window(str(merged["slot_type"]), merged["start_time"], merged["end_time"])  # refuses a bad time
    try:
        merged["max_auto"] = int(merged["max_auto"])
        merged["typist_weight"] = float(merged["typist_weight"])
    except (TypeError, ValueError) as exc:
        raise InvalidInput("自动分诊最大数量和打字员权重必须是数字", code="invalid_number") from exc
    validate_shift(name=merged["name"], max_auto=merged["max_auto"], typist_weight=merged["typist_weight"],
                   slot_type=str(merged["slot_type"]))
    qids = queue_ids if queue_ids is not None else [int(q) for q in tx.session.scalars(
        select(ShiftQueue.queue_id).where(ShiftQueue.shift_id == shift.id))]
    _check_refs(tx, merged, qids)
    for k, v in merged.items():
        setattr(shift, k, bool(v) if k == "active" else v)
    tx.session.flush()
    if queue_ids is not None:
        tx.session.execute(delete(ShiftQueue).where(ShiftQueue.shift_id == shift.id))
        tx.session.add_all([ShiftQueue(shift_id=shift.id, queue_id=q) for q in sorted(set(queue_ids))])


def create_shift(svc: Services, *, by: Actor, queue_ids: Iterable[int], **values: Any) -> dict[str, Any]:
    """Create a shift: name, group, campus, department, queues, slot type, maximum and typist weight."""
    by.require(Perm.ADMIN)
    values = {"active": True, "department_id": None, "typist_weight": 0.0} | values
    missing = [k for k in ("name", "group_id", "campus_id", "slot_type", "max_auto") if values.get(k) in (None, "")]
    if missing:
        raise InvalidInput(f"缺少必填项：{'、'.join(FIELD_LABELS[k] for k in missing)}", code="shift_fields_required")
    with transaction(svc) as tx:
        shift = Shift(name="", group_id=values["group_id"], campus_id=values["campus_id"], slot_type="am",
                      max_auto=0, typist_weight=0.0, active=True)
        tx.session.add(shift)
        with tx.session.no_autoflush:  # insert only once the values are valid (no FK error instead of a message)
            _apply(tx, shift, values, [int(q) for q in queue_ids])
        audit.record(tx, by, "create", "shift", shift.id, name=shift.name)
        return shift_dict(tx, shift)


def _shift(tx: Tx, shift_id: int) -> Shift:
    s = tx.session.get(Shift, shift_id)
    if s is None:
        raise NotFound(f"班次不存在：{shift_id}", code="shift_not_found")
    return s


def _open_count(tx: Tx, shift_id: int) -> int:
    return tx.session.scalar(select(func.count()).select_from(ShiftSession).where(
        ShiftSession.shift_id == shift_id, ShiftSession.ended_at.is_(None))) or 0


def update_shift(svc: Services, shift_id: int, *, by: Actor, queue_ids: Iterable[int] | None = None,
                 **changes: Any) -> dict[str, Any]:
    """Edit a shift; open sessions follow the new maximum and weight at once. Retiring an open one is refused."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        shift = _shift(tx, shift_id)
        if changes.get("active") is False and _open_count(tx, shift_id):
            raise Conflict("该班次正在使用中，不能停用，请先结束相关诊室的班次", code="shift_in_use")
        _apply(tx, shift, changes, [int(q) for q in queue_ids] if queue_ids is not None else None)
        audit.record(tx, by, "update", "shift", shift.id, **{k: v for k, v in changes.items() if k != "name"})
        return shift_dict(tx, shift)


def delete_shift(svc: Services, shift_id: int, *, by: Actor) -> dict[str, Any]:
    """Delete a shift. Refused while a session uses it; a shift with past sessions is retired instead
    (kept inactive so that history keeps its shift), so no session ever points at nothing."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        shift = _shift(tx, shift_id)
        open_n = _open_count(tx, shift_id)
        if open_n:
            raise Conflict(f"该班次正在使用中（{open_n} 个诊室），不能删除", code="shift_in_use")
        used = tx.session.scalar(select(func.count()).select_from(ShiftSession)
                                 .where(ShiftSession.shift_id == shift_id)) or 0
        if used:
            shift.active = False
            audit.record(tx, by, "retire", "shift", shift_id, name=shift.name, sessions=used)
            return {"id": shift_id, "deleted": False, "retired": True,
                    "message": f"该班次已有 {used} 条班次记录，已停用（保留历史）而未删除"}
        tx.session.execute(delete(ShiftQueue).where(ShiftQueue.shift_id == shift_id))
        tx.session.delete(shift)
        audit.record(tx, by, "delete", "shift", shift_id, name=shift.name)
        return {"id": shift_id, "deleted": True, "retired": False, "message": "已删除班次"}
