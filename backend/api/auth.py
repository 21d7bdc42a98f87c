"""Staff sign-in for API clients (JSON) and the current caller."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, session
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import client_ip, current_actor, services
from backend.api.validation import json_body
from backend.domain.actor import Actor

bp = Blueprint("auth", __name__)


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def start_session(actor: Actor) -> None:
    """Put the signed-in user in the session cookie (ids only; re-checked on every request)."""
    csrf = session.get("csrf")
    session.clear()
    if csrf:
        session["csrf"] = csrf
    session.permanent = True
    session["user"] = {"id": actor.id, "name": actor.name, "roles": sorted(actor.roles),
                       "department_id": actor.department_id}


def actor_json(actor: Actor) -> dict[str, Any]:
    return {"kind": actor.kind, "id": actor.id, "name": actor.name, "roles": sorted(actor.roles),
            "permissions": sorted(actor.perms)}


@bp.post("/api/auth/login")
@doc("员工登录，返回会话 Cookie", body=LoginBody, public=True, tags=("auth",))
def login() -> Any:
    from backend.services import auth

    body = json_body(LoginBody)
    actor = auth.login(services(), body.username, body.password, ip=client_ip())
    start_session(actor)
    return jsonify({"user": actor_json(actor)})


@bp.post("/api/auth/logout")
@doc("退出登录", public=True, tags=("auth",))
def logout() -> Any:
    from backend.services.patient_flow import shift_sessions

    who = current_actor(required=False)
    if who is not None and who.kind == "user":
        shift_sessions.close_session(services(), by=who, reason="logout")  # the shift ends at logout (US-7)
    session.clear()
    return jsonify({"ok": True})


@bp.get("/api/auth/me")
@doc("当前调用者", tags=("auth",))
def me() -> Any:
    actor = current_actor()
    assert actor is not None
    return jsonify({"user": actor_json(actor)})
