"""Admin upkeep of exam items (检查项目): create, edit, deactivate, and delete only when never used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from backend.db.models import Department, Exam, ExamItem, Modality, Queue, ReportTemplate
from backend.domain.actor import Actor
from backend.domain.admin_rules import check_tat, clean_code, clean_name
from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, Category
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, Tx, transaction

ITEM_FIELDS = ("name", "modality", "body_part", "category", "queue_id", "needs_slot", "needs_room",
               "report_template_code", "tat_routine_min", "tat_emergency_min", "active")


def item_dict(i: ExamItem, queue_codes: Mapping[int, str] | None = None) -> dict[str, Any]:
    return {"id": i.id, "code": i.code, "name": i.name, "modality": i.modality_code,
            "modality_label": MODALITY_LABELS.get(i.modality_code, i.modality_code), "body_part": i.body_part,
            "category": i.category, "category_label": CATEGORY_LABELS.get(Category(i.category), i.category),
            "queue_id": i.queue_id, "queue_code": (queue_codes or {}).get(i.queue_id or 0),
            "needs_slot": i.needs_slot, "needs_room": i.needs_room, "report_template_code": i.report_template_code,
            "tat_routine_min": i.tat_routine_min, "tat_emergency_min": i.tat_emergency_min, "active": i.active}


def list_items(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Every exam item, inactive ones included, for the admin table."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        codes = dict(tx.session.execute(select(Queue.id, Queue.code)).all())
        rows = tx.session.scalars(select(ExamItem).order_by(ExamItem.modality_code, ExamItem.code))
        return [item_dict(i, codes) for i in rows]


def _get_item(tx: Tx, item_id: int) -> ExamItem:
    item = tx.session.get(ExamItem, item_id)
    if item is None:
        raise NotFound(f"检查项目不存在：{item_id}", code="item_not_found")
    return item


def _check_refs(tx: Tx, v: Mapping[str, Any]) -> None:
    """The modality, queue and template an item points at must exist and agree with each other."""
    if tx.session.get(Modality, v["modality"]) is None:
        raise InvalidInput(f"设备类型不存在：{v['modality']}", code="unknown_modality")
    if v["category"] not in {c.value for c in Category}:
        raise InvalidInput("类别须为常规、亚专科或 GCP", code="invalid_category")
    if v["queue_id"] is not None:
        queue = tx.session.get(Queue, v["queue_id"])
        if queue is None:
            raise InvalidInput(f"队列不存在：{v['queue_id']}", code="unknown_queue")
        if queue.modality_code != v["modality"]:
            raise InvalidInput(f"队列“{queue.name}”的设备类型与项目不一致", code="queue_modality_mismatch")
    if v["needs_slot"] and v["queue_id"] is None:
        raise InvalidInput("需要预约号源的项目必须指定队列（号源属于队列）", code="slot_needs_queue")
    if v["needs_slot"] and not v["needs_room"]:
        raise InvalidInput("无需检查室的项目不能要求预约号源", code="slot_needs_room")
    code = v["report_template_code"]
    if code and tx.session.scalars(select(ReportTemplate.id).where(ReportTemplate.code == code)).first() is None:
        raise InvalidInput(f"报告模板不存在：{code}", code="unknown_template")


def _apply(tx: Tx, item: ExamItem, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the merged values and write them; returns what changed (for the audit row)."""
    unknown = set(values) - set(ITEM_FIELDS)
    if unknown:
        raise InvalidInput(f"不可修改的字段：{', '.join(sorted(unknown))}", code="invalid_field")
    current: dict[str, Any] = {"name": item.name, "modality": item.modality_code, "body_part": item.body_part or "",
               "category": item.category, "queue_id": item.queue_id, "needs_slot": item.needs_slot,
               "needs_room": item.needs_room, "report_template_code": item.report_template_code,
               "tat_routine_min": item.tat_routine_min, "tat_emergency_min": item.tat_emergency_min,
               "active": item.active}
    v = current | dict(values)
    v["name"] = clean_name(v["name"], what="检查项目", limit=128)
    v["body_part"] = (v["body_part"] or "").strip()[:64]
    v["report_template_code"] = (v["report_template_code"] or "").strip() or None
    v["tat_routine_min"] = check_tat(v["tat_routine_min"], label="常规报告时限")
    v["tat_emergency_min"] = check_tat(v["tat_emergency_min"], label="急诊报告时限")
    _check_refs(tx, v)
    changed = {k: v[k] for k in ITEM_FIELDS if v[k] != current[k]}
    item.name, item.modality_code, item.body_part, item.category = v["name"], v["modality"], v["body_part"], \
        v["category"]
    item.queue_id, item.needs_slot, item.needs_room = v["queue_id"], bool(v["needs_slot"]), bool(v["needs_room"])
    item.report_template_code = v["report_template_code"]
    item.tat_routine_min, item.tat_emergency_min, item.active = v["tat_routine_min"], v["tat_emergency_min"], \
        bool(v["active"])
    return changed


def create_item(svc: Services, *, code: str, by: Actor, **values: Any) -> dict[str, Any]:
    """Add an exam item; its code is unique and never changes afterwards."""
    by.require(Perm.ADMIN)
    code = clean_code(code, what="检查项目")
    with transaction(svc) as tx:
        if tx.session.scalars(select(ExamItem.id).where(ExamItem.code == code)).first() is not None:
            raise Conflict(f"检查项目编码已存在：{code}", code="duplicate_code")
        item = ExamItem(code=code, name="", modality_code=values.get("modality", ""), body_part="",
                        category="routine", needs_slot=False, needs_room=True, active=True)
        _apply(tx, item, values)
        tx.session.add(item)
        tx.session.flush()
        audit.record(tx, by, "create", "exam_item", item.id, code=code)
        return item_dict(item)


def update_item(svc: Services, item_id: int, *, by: Actor, **changes: Any) -> dict[str, Any]:
    """Edit an exam item (its code stays); exams already registered keep their own copies."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        item = _get_item(tx, item_id)
        changed = _apply(tx, item, changes)
        audit.record(tx, by, "update", "exam_item", item.id, **changed)
        return item_dict(item)


def set_item_active(svc: Services, item_id: int, active: bool, *, by: Actor) -> dict[str, Any]:
    """Deactivate (no new orders) or reactivate an exam item."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        item = _get_item(tx, item_id)
        item.active = active
        audit.record(tx, by, "activate" if active else "deactivate", "exam_item", item.id)
        return item_dict(item)


def delete_item(svc: Services, item_id: int, *, by: Actor) -> None:
    """Delete an item that no exam uses; an item in use can only be deactivated."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        item = _get_item(tx, item_id)
        used = tx.session.scalar(select(func.count()).select_from(Exam).where(Exam.exam_item_id == item.id)) or 0
        if used:
            raise Conflict(f"该项目已有 {used} 个检查使用，不能删除，请改为停用", code="item_in_use", exams=used)
        audit.record(tx, by, "delete", "exam_item", item.id, code=item.code)
        tx.session.delete(item)


def departments(svc: Services) -> list[dict[str, Any]]:
    """Departments for pickers (user's department)."""
    with transaction(svc, readonly=True) as tx:
        return [{"id": d.id, "code": d.code, "name": d.name, "kind": d.kind}
                for d in tx.session.scalars(select(Department).order_by(Department.kind.desc(), Department.code))]


def report_templates(svc: Services) -> list[dict[str, Any]]:
    """Report templates for the item form."""
    with transaction(svc, readonly=True) as tx:
        return [{"code": t.code, "name": t.name}
                for t in tx.session.scalars(select(ReportTemplate).order_by(ReportTemplate.code))]
