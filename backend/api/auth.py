"""Staff sign-in for API clients (JSON) and the current caller."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, session
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import client_ip, current_actor, services
from backend.api.validation import json_body
from backend.domain.actor import Actor
from backend.domain.errors import TooManyRequests, Unauthenticated

bp = Blueprint("auth", __name__)


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def start_session(actor: Actor) -> None:
    """Put the signed-in user and a new server-side session id in the cookie (re-checked on every request);
    outside the demo, a demo or admin-set password must be changed before anything else."""
    from backend.services import auth, sessions

    csrf = session.get("csrf")
    session.clear()
    if csrf:
        session["csrf"] = csrf
    session.permanent = True
    session["sid"] = sessions.start(services(), actor, ip=client_ip())
    session["user"] = {"id": actor.id, "name": actor.name, "roles": sorted(actor.roles),
                       "department_id": actor.department_id}
    if not services().settings.demo and auth.must_change_password(services(), int(actor.id or 0)):
        session["must_change"] = True


def end_session() -> None:
    """Sign out: the server-side session ends, so a copy of the cookie is worthless too."""
    from backend.services import sessions

    if sid := session.get("sid"):
        sessions.end(services(), str(sid), reason="logout")
    session.clear()


def throttled_login(username: str, password: str) -> Actor:
    """Check a password unless this account or address failed too often lately (429 + Retry-After, audited)."""
    from backend.api import throttle
    from backend.services import auth

    ip = client_ip()
    if wait := throttle.login_wait(username, ip):
        auth.record_throttled(services(), username, ip=ip, retry_after=wait)
        raise TooManyRequests(f"登录失败次数过多，请 {wait} 秒后再试", retry_after=wait, code="login_throttled")
    try:
        return auth.login(services(), username, password, ip=ip)
    except Unauthenticated:
        throttle.login_failed(username, ip)
        raise


def actor_json(actor: Actor) -> dict[str, Any]:
    return {"kind": actor.kind, "id": actor.id, "name": actor.name, "roles": sorted(actor.roles),
            "permissions": sorted(actor.perms)}


@bp.post("/api/auth/login")
@doc("员工登录，返回会话 Cookie", body=LoginBody, public=True, tags=("auth",))
def login() -> Any:

    body = json_body(LoginBody)
    actor = throttled_login(body.username, body.password)
    start_session(actor)
    return jsonify({"user": actor_json(actor)})


@bp.post("/api/auth/logout")
@doc("退出登录", public=True, tags=("auth",))
def logout() -> Any:
    from backend.services.patient_flow import shift_sessions

    who = current_actor(required=False)
    if who is not None and who.kind == "user":
        shift_sessions.close_session(services(), by=who, reason="logout")  # the shift ends at logout (US-7)
    end_session()
    return jsonify({"ok": True})


class PasswordChangeBody(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


@bp.post("/api/auth/password")
@doc("修改本人密码（其他已登录的会话全部失效）", body=PasswordChangeBody, tags=("auth",))
def change_password() -> Any:
    from backend.services import auth

    body = json_body(PasswordChangeBody)
    who = current_actor()
    assert who is not None
    if who.kind != "user":
        return jsonify({"error": {"code": "forbidden", "message": "只有员工账号可以修改密码"}}), 403
    auth.change_own_password(services(), who, old=body.old_password, new=body.new_password,
                             keep_session=session.get("sid"))
    session.pop("must_change", None)
    return jsonify({"ok": True})


@bp.get("/api/auth/me")
@doc("当前调用者", tags=("auth",))
def me() -> Any:
    actor = current_actor()
    assert actor is not None
    return jsonify({"user": actor_json(actor)})
