"""Liveness and readiness: answers without login."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text

from backend.api.openapi import doc
from backend.api.security import services

bp = Blueprint("health", __name__)


@bp.get("/api/health")
@doc("健康检查（无需登录）", public=True, tags=("meta",))
def health() -> Any:
    svc = services()
    try:
        with svc.session_factory() as s:
            s.execute(text("SELECT 1"))
        db = "ok"
    except Exception:  # the point of a health check is to report, not to raise
        db = "error"
    status = 200 if db == "ok" else 503
    return jsonify({"status": "ok" if db == "ok" else "degraded", "database": db,
                    "time": svc.clock().isoformat()}), status
