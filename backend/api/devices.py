"""Admin APIs for credentials that outlive a sign-in: enrolled kiosks and hall screens (list with last use,
issue, revoke) and a user's server-side sessions (list, sign out everywhere)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import json_body
from backend.domain.permissions import Perm
from backend.services import devices, sessions

bp = Blueprint("devices", __name__)
TAGS = ("admin",)


class DeviceCreate(BaseModel):
    kind: Literal["kiosk", "screen"] = Field(description="kiosk 自助机 / screen 候诊大屏")
    target: str = Field(min_length=1, max_length=32, description="自助机或大屏编号，如 K1、HALL-MAIN")
    name: str = Field("", max_length=64)


@bp.get("/api/admin/devices")
@doc("已启用的自助机与大屏设备（含最近使用时间）", tags=TAGS)
@requires(Perm.ADMIN)
def list_devices() -> Any:
    return jsonify({"devices": devices.list_devices(services(), by=actor())})


@bp.post("/api/admin/devices")
@doc("为自助机或大屏签发设备凭证（用于 X-Device-Key；只在此响应中出现一次）", status=201, body=DeviceCreate,
     tags=TAGS)
@requires(Perm.ADMIN)
def create_device() -> Any:
    b = json_body(DeviceCreate)
    key = devices.enrol(services(), b.kind, b.target, by=actor(), name=b.name)
    return jsonify({"key": key, "prefix": key.split("_")[1], "kind": b.kind, "target": b.target,
                    "notice": "请立即复制保存，此凭证不会再次显示"}), 201


@bp.post("/api/admin/devices/<int:device_id>/revoke")
@doc("吊销设备凭证（立即失效，设备需重新启用）", tags=TAGS)
@requires(Perm.ADMIN)
def revoke_device(device_id: int) -> Any:
    devices.revoke(services(), device_id, by=actor())
    return jsonify({"ok": True})


@bp.get("/api/admin/users/<int:user_id>/sessions")
@doc("用户当前有效的登录会话", tags=TAGS)
@requires(Perm.ADMIN)
def user_sessions(user_id: int) -> Any:
    return jsonify({"sessions": sessions.live_sessions(services(), user_id, by=actor())})


@bp.post("/api/admin/users/<int:user_id>/sign-out")
@doc("强制该用户在所有设备上退出登录", tags=TAGS)
@requires(Perm.ADMIN)
def sign_out_everywhere(user_id: int) -> Any:
    return jsonify({"ended": sessions.sign_out_everywhere(services(), user_id, by=actor())})
