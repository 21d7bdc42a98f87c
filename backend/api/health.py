"""Health of the installation, without login: each component, and 503 when a required one is down."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from backend.api.openapi import doc
from backend.api.security import services
from backend.services import health

bp = Blueprint("health", __name__)


@bp.get("/api/health")
@doc("健康检查（无需登录）：数据库、实时消息队列、调度器、各监听与模拟服务、各外部系统最近一次成功；"
     "必需组件不可用时返回 503", public=True, tags=("meta",))
def health_report() -> Any:
    svc = services()
    bus = svc.ports.revocations
    realtime = bus.ping() if bus is not None else None
    body = health.check(svc, current_app.extensions.get("radops_expected", []), realtime=realtime)
    return jsonify(body), 200 if body["status"] == "ok" else 503
