"""Kiosk check-in API: terminals authenticate with their own API key (scope exam.operate).

Kiosks are unattended devices, so the API is never open by network location: each kiosk gets an API key,
and a kiosk bound to a key (kiosk_terminals.api_key_id) accepts no other key (signed-in staff may act too).
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import json_body
from backend.domain.permissions import Perm
from backend.services.patient_flow import checkin
from backend.web.context import kiosk_throttle

bp = Blueprint("kiosk", __name__)


class CheckinBody(BaseModel):
    terminal: str = Field(min_length=1, max_length=32, description="自助机编号，如 K1")
    method: Literal["barcode", "evoucher", "mrn"]
    code: str = Field(min_length=1, max_length=512, description="条码内容、医保电子凭证二维码或病案号")


class LookupBody(BaseModel):
    method: Literal["barcode", "evoucher", "mrn"]
    code: str = Field(min_length=1, max_length=512, description="条码内容、医保电子凭证二维码或病案号")


@bp.post("/api/kiosk/checkin")
@doc("自助签到：识别患者并签到其全部可签到的检查，每项检查返回结果、原因代码与中文说明", body=CheckinBody,
     tags=("kiosk",))
@requires(Perm.EXAM_OPERATE)
def kiosk_checkin() -> Any:
    body = json_body(CheckinBody)
    kiosk_throttle(body.terminal)
    return jsonify(checkin.check_in(services(), body.terminal, body.method, body.code, by=actor()))


@bp.post("/api/kiosk/<terminal>/lookup")
@doc("自助机查询：患者今日待签到检查及各自能否签到（不签到）；条码、凭证与病案号放在请求体中，不进地址和日志",
     body=LookupBody, tags=("kiosk",))
@requires(Perm.EXAM_OPERATE)
def kiosk_lookup(terminal: str) -> Any:
    b = json_body(LookupBody)
    kiosk_throttle(terminal)
    return jsonify(checkin.lookup(services(), terminal, b.method, b.code, by=actor()))
