"""Room desk API: a room's line; call next, call again, missed, start, finish, transfer; desk check-in."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import json_body
from backend.domain.permissions import Perm
from backend.services.patient_flow import calling, checkin

bp = Blueprint("rooms", __name__)


class TransferBody(BaseModel):
    room_id: int = Field(ge=1)


class DeskCheckinBody(BaseModel):
    method: Literal["barcode", "mrn"] = "mrn"
    code: str = Field(min_length=1, max_length=64, description="病案号或检查号")


@bp.get("/api/rooms/<int:room_id>/queue")
@doc("检查室队列：当前患者、候检顺序、过号列表（姓名脱敏）", tags=("queue",))
@requires(Perm.EXAM_OPERATE)
def room_queue(room_id: int) -> Any:
    return jsonify(calling.room_state(services(), room_id, by=actor()))


@bp.post("/api/rooms/<int:room_id>/call-next")
@doc("叫下一位", tags=("queue",))
@requires(Perm.EXAM_OPERATE)
def call_next(room_id: int) -> Any:
    return jsonify(calling.call_next(services(), room_id, by=actor()))


ACTIONS = {"recall": calling.recall, "missed": calling.mark_missed, "start": calling.start_exam,
           "finish": calling.finish_exam}


@bp.post("/api/tickets/<int:ticket_id>/<any(recall, missed, start, finish):action>")
@doc("排队号操作：recall 重呼、missed 过号、start 开始检查、finish 完成检查", tags=("queue",))
@requires(Perm.EXAM_OPERATE)
def ticket_action(ticket_id: int, action: Literal["recall", "missed", "start", "finish"]) -> Any:
    return jsonify(ACTIONS[action](services(), ticket_id, by=actor()))


@bp.post("/api/tickets/<int:ticket_id>/transfer")
@doc("转诊室（未开始检查的患者保留原排队位置）", body=TransferBody, tags=("queue",))
@requires(Perm.EXAM_OPERATE)
def transfer(ticket_id: int) -> Any:
    body = json_body(TransferBody)
    return jsonify(calling.transfer(services(), ticket_id, body.room_id, by=actor()))


@bp.post("/api/desk/checkin")
@doc("护士站签到（不受自助签到时间窗限制；过号患者重新排回原检查室）", body=DeskCheckinBody, tags=("queue",))
@requires(Perm.EXAM_OPERATE)
def desk_checkin() -> Any:
    body = json_body(DeskCheckinBody)
    return jsonify(checkin.check_in(services(), None, body.method, body.code, by=actor()))
