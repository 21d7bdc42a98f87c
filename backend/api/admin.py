"""Admin APIs for the hospital catalog: exam items, rooms, queues and appointment slots."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDate, json_body, query_args
from backend.domain.enums import Category
from backend.domain.permissions import Perm
from backend.services.admin import items as admin_catalog
from backend.services.admin import org
from backend.services.admin import slots as admin_slots
from backend.services.orders import catalog

bp = Blueprint("admin", __name__)
TAGS = ("admin",)


class ItemFields(BaseModel):
    name: str | None = Field(None, max_length=128)
    modality: str | None = Field(None, max_length=8)
    body_part: str | None = Field(None, max_length=64)
    category: Category | None = None
    queue_id: int | None = None
    needs_slot: bool | None = None
    needs_room: bool | None = None
    report_template_code: str | None = Field(None, max_length=32)
    tat_routine_min: int | None = Field(None, ge=1, le=10080, description="常规报告时限（分钟）")
    tat_emergency_min: int | None = Field(None, ge=1, le=10080, description="急诊报告时限（分钟）")
    active: bool | None = None


class ItemCreate(ItemFields):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    modality: str = Field(min_length=1, max_length=8)


class RoomFields(BaseModel):
    name: str | None = Field(None, max_length=64)
    campus_id: int | None = None
    modality: str | None = Field(None, max_length=8)
    location: str | None = Field(None, max_length=64)
    active: bool | None = None


class RoomCreate(RoomFields):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    campus_id: int
    modality: str = Field(min_length=1, max_length=8)


class QueueFields(BaseModel):
    name: str | None = Field(None, max_length=64)
    prefix: str | None = Field(None, max_length=8, description="叫号前缀：1-4 位大写字母，同院区唯一")
    campus_id: int | None = None
    modality: str | None = Field(None, max_length=8)
    active: bool | None = None
    room_ids: list[int] | None = Field(None, description="服务该队列的检查室")


class QueueCreate(QueueFields):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    prefix: str = Field(min_length=1, max_length=8)
    campus_id: int
    modality: str = Field(min_length=1, max_length=8)


class ActiveBody(BaseModel):
    active: bool


class SlotQuery(BaseModel):
    queue_id: int
    date_from: IsoDate
    date_to: IsoDate


class GenerateBody(BaseModel):
    queue_id: int
    date_from: IsoDate
    date_to: IsoDate
    hours: list[int] = Field(min_length=1, max_length=24, description="每天的开始整点（本地时间）")
    length_min: int = Field(60, ge=10, le=1440)
    capacity: int = Field(ge=1, le=500)
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), description="0=周一 … 6=周日")


class CapacityBody(BaseModel):
    capacity: int = Field(ge=1, le=500)


def _set(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True, mode="json")


@bp.get("/api/admin/items")
@doc("检查项目列表（含停用）", tags=TAGS)
@requires(Perm.ADMIN)
def list_items() -> Any:
    return jsonify({"items": admin_catalog.list_items(services(), by=actor())})


@bp.post("/api/admin/items")
@doc("新建检查项目（编码唯一）", status=201, body=ItemCreate, tags=TAGS)
@requires(Perm.ADMIN)
def create_item() -> Any:
    values = _set(json_body(ItemCreate))
    return jsonify(admin_catalog.create_item(services(), code=values.pop("code"), by=actor(), **values)), 201


@bp.patch("/api/admin/items/<int:item_id>")
@doc("修改检查项目（编码不可改）", body=ItemFields, tags=TAGS)
@requires(Perm.ADMIN)
def update_item(item_id: int) -> Any:
    return jsonify(admin_catalog.update_item(services(), item_id, by=actor(), **_set(json_body(ItemFields))))


@bp.delete("/api/admin/items/<int:item_id>")
@doc("删除检查项目（已被检查使用的只能停用）", tags=TAGS)
@requires(Perm.ADMIN)
def delete_item(item_id: int) -> Any:
    admin_catalog.delete_item(services(), item_id, by=actor())
    return jsonify({"ok": True})


@bp.get("/api/admin/rooms")
@doc("检查室列表（含停用及所服务的队列）", tags=TAGS)
@requires(Perm.ADMIN)
def list_rooms() -> Any:
    return jsonify({"rooms": org.list_rooms(services(), by=actor())})


@bp.post("/api/admin/rooms")
@doc("新建检查室（编码唯一）", status=201, body=RoomCreate, tags=TAGS)
@requires(Perm.ADMIN)
def create_room() -> Any:
    values = _set(json_body(RoomCreate))
    return jsonify(org.create_room(services(), code=values.pop("code"), by=actor(), **values)), 201


@bp.patch("/api/admin/rooms/<int:room_id>")
@doc("修改检查室", body=RoomFields, tags=TAGS)
@requires(Perm.ADMIN)
def update_room(room_id: int) -> Any:
    return jsonify(org.update_room(services(), room_id, by=actor(), **_set(json_body(RoomFields))))


@bp.delete("/api/admin/rooms/<int:room_id>")
@doc("删除检查室（有检查记录的只能停用）", tags=TAGS)
@requires(Perm.ADMIN)
def delete_room(room_id: int) -> Any:
    org.delete_room(services(), room_id, by=actor())
    return jsonify({"ok": True})


@bp.get("/api/admin/queues")
@doc("队列列表（含停用及服务的检查室）", tags=TAGS)
@requires(Perm.ADMIN)
def list_queues() -> Any:
    return jsonify({"queues": org.list_queues(services(), by=actor())})


@bp.post("/api/admin/queues")
@doc("新建队列（编码唯一，叫号前缀同院区唯一）", status=201, body=QueueCreate, tags=TAGS)
@requires(Perm.ADMIN)
def create_queue() -> Any:
    values = _set(json_body(QueueCreate))
    rooms = values.pop("room_ids", None) or []
    return jsonify(org.create_queue(services(), code=values.pop("code"), room_ids=rooms, by=actor(),
                                          **values)), 201


@bp.patch("/api/admin/queues/<int:queue_id>")
@doc("修改队列及其检查室", body=QueueFields, tags=TAGS)
@requires(Perm.ADMIN)
def update_queue(queue_id: int) -> Any:
    values = _set(json_body(QueueFields))
    rooms = values.pop("room_ids", None)
    return jsonify(org.update_queue(services(), queue_id, room_ids=rooms, by=actor(), **values))


@bp.delete("/api/admin/queues/<int:queue_id>")
@doc("删除队列（已被使用的只能停用）", tags=TAGS)
@requires(Perm.ADMIN)
def delete_queue(queue_id: int) -> Any:
    org.delete_queue(services(), queue_id, by=actor())
    return jsonify({"ok": True})


@bp.get("/api/admin/slots")
@doc("某队列在日期范围内的号源（容量与已约）", query=SlotQuery, tags=TAGS)
@requires(Perm.ADMIN)
def list_slots() -> Any:
    a = query_args(SlotQuery)
    return jsonify({"slots": admin_slots.list_slots(services(), a.queue_id, a.date_from, a.date_to, by=actor())})


@bp.post("/api/admin/slots/generate")
@doc("批量生成号源（幂等：已存在的时段不重复生成）", body=GenerateBody, tags=TAGS)
@requires(Perm.ADMIN)
def generate_slots() -> Any:
    b = json_body(GenerateBody)
    return jsonify(admin_slots.generate(services(), b.queue_id, date_from=b.date_from, date_to=b.date_to,
                                        hours=b.hours, capacity=b.capacity, length_min=b.length_min,
                                        weekdays=b.weekdays, by=actor()))


@bp.patch("/api/admin/slots/<int:slot_id>")
@doc("修改号源容量（不得小于已预约人数）", body=CapacityBody, tags=TAGS)
@requires(Perm.ADMIN)
def set_capacity(slot_id: int) -> Any:
    b = json_body(CapacityBody)
    return jsonify(admin_slots.set_capacity(services(), slot_id, b.capacity, by=actor()))


@bp.post("/api/admin/slots/<int:slot_id>/active")
@doc("停用（无预约时）或启用号源", body=ActiveBody, tags=TAGS)
@requires(Perm.ADMIN)
def set_slot_active(slot_id: int) -> Any:
    b = json_body(ActiveBody)
    return jsonify(admin_slots.set_active(services(), slot_id, b.active, by=actor()))


@bp.get("/api/admin/lookups")
@doc("管理表单的选项：院区、设备类型、科室、报告模板", tags=TAGS)
@requires(Perm.ADMIN)
def lookups() -> Any:
    svc = services()
    return jsonify({"campuses": catalog.campuses(svc), "modalities": catalog.modalities(svc),
                    "departments": admin_catalog.departments(svc), "templates": admin_catalog.report_templates(svc)})
