"""Ultrasound dispatch API: shift groups and shifts (admin), shift sessions, the triage board, manual triage."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import json_body
from backend.domain.permissions import Perm
from backend.services.patient_flow import shift_sessions, shifts, triage, triage_board

bp = Blueprint("ultrasound", __name__)
TAGS = ("ultrasound",)
P = "/api/ultrasound"


class GroupFields(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=64)
    department_id: int | None = None
    active: bool | None = None


class GroupCreate(GroupFields):
    name: str = Field(min_length=1, max_length=64)


class ShiftFields(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=64)
    group_id: int | None = Field(None, ge=1)
    campus_id: int | None = Field(None, ge=1)
    department_id: int | None = None
    slot_type: Literal["am", "pm", "night", "all_day"] | None = Field(None, description="上午/下午/夜班/全天")
    max_auto: int | None = Field(None, ge=0, le=500, description="自动分诊最大数量")
    typist_weight: float | None = Field(None, ge=0, le=1, description="打字员权重 0-1")
    queue_ids: list[int] | None = Field(None, description="关联队列")
    start_time: str | None = Field(None, max_length=5, description="开始时间（院区当地时间 时:分；空为时段默认）")
    end_time: str | None = Field(None, max_length=5, description="结束时间（院区当地时间 时:分；空为时段默认）")
    active: bool | None = None


class SessionBody(BaseModel):
    shift_id: int = Field(ge=1)
    room_id: int = Field(ge=1)
    with_typist: bool = False
    take_over: bool = Field(False, description="接班：结束该诊室他人的班次")


class RoomActionBody(BaseModel):
    to_user_id: int | None = Field(None, ge=1, description="接管：接班医生（take_over 时必填）")


class AssignBody(BaseModel):
    room_id: int | None = Field(None, ge=1, description="目标诊室；为空则退回待分诊池")


def _set(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


@bp.get(f"{P}/shift-groups")
@doc("班次组列表", tags=TAGS)
@requires(Perm.EXAM_READ)
def list_groups() -> Any:
    return jsonify(shifts.list_groups(services(), by=actor()))


@bp.post(f"{P}/shift-groups")
@doc("新建班次组", status=201, body=GroupCreate, tags=TAGS)
@requires(Perm.ADMIN)
def create_group() -> Any:
    return jsonify(shifts.create_group(services(), by=actor(), **_set(json_body(GroupCreate)))), 201


@bp.patch(f"{P}/shift-groups/<int:group_id>")
@doc("修改班次组", body=GroupFields, tags=TAGS)
@requires(Perm.ADMIN)
def update_group(group_id: int) -> Any:
    return jsonify(shifts.update_group(services(), group_id, by=actor(), **_set(json_body(GroupFields))))


@bp.delete(f"{P}/shift-groups/<int:group_id>")
@doc("删除班次组（组内还有班次时拒绝）", tags=TAGS)
@requires(Perm.ADMIN)
def delete_group(group_id: int) -> Any:
    shifts.delete_group(services(), group_id, by=actor())
    return jsonify({"ok": True})


@bp.get(f"{P}/shifts")
@doc("工作班次列表（含关联队列）", tags=TAGS)
@requires(Perm.EXAM_READ)
def list_shifts() -> Any:
    return jsonify(shifts.list_shifts(services(), by=actor()))


@bp.post(f"{P}/shifts")
@doc("新建工作班次", status=201, body=ShiftFields, tags=TAGS)
@requires(Perm.ADMIN)
def create_shift() -> Any:
    values = _set(json_body(ShiftFields))
    queue_ids = values.pop("queue_ids", None) or []
    return jsonify(shifts.create_shift(services(), by=actor(), queue_ids=queue_ids, **values)), 201


@bp.patch(f"{P}/shifts/<int:shift_id>")
@doc("修改工作班次（正在使用的班次不能停用）", body=ShiftFields, tags=TAGS)
@requires(Perm.ADMIN)
def update_shift(shift_id: int) -> Any:
    values = _set(json_body(ShiftFields))
    queue_ids = values.pop("queue_ids", None)
    return jsonify(shifts.update_shift(services(), shift_id, by=actor(), queue_ids=queue_ids, **values))


@bp.delete(f"{P}/shifts/<int:shift_id>")
@doc("删除工作班次（使用中拒绝；有历史班次记录的改为停用）", tags=TAGS)
@requires(Perm.ADMIN)
def delete_shift(shift_id: int) -> Any:
    return jsonify(shifts.delete_shift(services(), shift_id, by=actor()))


@bp.get(f"{P}/sessions/current")
@doc("当前用户的班次（未选择时为 null）", tags=TAGS)
@requires(Perm.EXAM_READ)
def current_session() -> Any:
    return jsonify({"session": shift_sessions.current_session(services(), by=actor())})


@bp.post(f"{P}/sessions")
@doc("选择班次：班次、诊室、是否有打字员（开始班次）", status=201, body=SessionBody, tags=TAGS)
@requires(Perm.EXAM_READ)
def open_session() -> Any:
    body = json_body(SessionBody)
    return jsonify(shift_sessions.open_session(services(), by=actor(), **body.model_dump())), 201


@bp.post(f"{P}/sessions/current/close")
@doc("结束当前班次（候检患者重新分诊）", tags=TAGS)
@requires(Perm.EXAM_READ)
def close_session() -> Any:
    return jsonify({"session": shift_sessions.close_session(services(), by=actor())})


@bp.get(f"{P}/sessions")
@doc("进行中的班次（各诊室；护士与管理员）", tags=TAGS)
@requires(Perm.TRIAGE)
def room_sessions() -> Any:
    return jsonify(shift_sessions.room_sessions(services(), by=actor()))


@bp.post(f"{P}/rooms/<int:room_id>/session/<action>")
@doc("护士或管理员管理诊室班次：暂停、恢复、结班（候检患者重新分诊）、接管（交给另一位医生）",
     body=RoomActionBody, tags=TAGS)
@requires(Perm.TRIAGE)
def room_action(room_id: int, action: str) -> Any:
    body = json_body(RoomActionBody)
    return jsonify(shift_sessions.supervise(services(), room_id, action, by=actor(), to_user_id=body.to_user_id))


@bp.get(f"{P}/triage")
@doc("手工分诊看板：各诊室医生、班次、打字员、分诊数/上限、排队人数，及待分诊池", tags=TAGS)
@requires(Perm.TRIAGE)
def board() -> Any:
    return jsonify(triage_board.board(services(), by=actor()))


@bp.get(f"{P}/queue-counts")
@doc("当前班次各队列的候检人数", tags=TAGS)
@requires(Perm.EXAM_READ)
def queue_counts() -> Any:
    return jsonify(triage_board.queue_counts(services(), by=actor()))


@bp.post(f"{P}/tickets/<int:ticket_id>/assign")
@doc("手工分诊：把候检患者分到诊室（可超过上限），或退回待分诊池", body=AssignBody, tags=TAGS)
@requires(Perm.TRIAGE)
def assign(ticket_id: int) -> Any:
    body = json_body(AssignBody)
    return jsonify(triage.assign(services(), ticket_id, body.room_id, by=actor()))
