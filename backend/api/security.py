"""Who is calling: a staff session or an X-API-Key; decorators that refuse the wrong caller."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, redirect, request, session

from backend.domain.actor import Actor
from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.permissions import Perm
from backend.services import auth, devices, sessions
from backend.services.base import Services

F = TypeVar("F", bound=Callable[..., Any])


def services() -> Services:
    return cast(Services, current_app.extensions["radops"])


def client_ip() -> str:
    return request.remote_addr or ""


def current_actor(*, required: bool = True) -> Actor | None:
    """The caller of this request, cached on `g`; raises Unauthenticated when required and absent."""
    if "actor" in g:
        return cast(Actor | None, g.actor)
    actor: Actor | None = None
    key = request.headers.get("X-API-Key")
    if key:
        actor = auth.actor_for_api_key(services(), key, ip=client_ip())
    elif request.headers.get(DEVICE_HEADER):
        actor = current_device()
        if actor is None:
            raise Unauthenticated("设备凭证无效或已吊销", code="bad_device_key")
    else:
        actor = session_actor()
    g.actor = actor
    if actor is None and required:
        raise Unauthenticated("请先登录或提供 API 密钥", code="unauthenticated")
    return actor


DEVICE_COOKIE = "radops_device"
DEVICE_HEADER = "X-Device-Key"
# Dash inputs that fire by themselves (timers, live events, reconnects): not a person at the workstation.
_AUTOMATIC = (".n_intervals", ".connected")


def user_activity() -> bool:
    """Whether this request comes from a person (for the idle timeout), not from a page's timer or socket."""
    if request.path != "/_dash-update-component":
        return True
    body = request.get_json(silent=True) or {}
    changed = [str(p) for p in body.get("changedPropIds") or []]
    return not changed or not all(p.endswith(_AUTOMATIC) or ".data-" in p for p in changed)


def session_actor() -> Actor | None:
    """The signed-in staff member, when the server-side session behind the cookie still holds."""
    if "session_actor" in g:
        return cast(Actor | None, g.session_actor)
    actor: Actor | None = None
    user, sid = session.get("user"), session.get("sid")
    if user is not None:
        if sid and sessions.resolve(services(), str(sid), user_id=int(user["id"]), activity=user_activity()):
            actor = auth.actor_by_user_id(services(), int(user["id"]), ip=client_ip())
        if actor is None:
            session.clear()  # ended, idle, copied after logout, or the account was disabled
    g.session_actor = actor
    return actor


def current_device() -> Actor | None:
    """The enrolled kiosk or hall screen making this request (device cookie, or X-Device-Key for API clients)."""
    if "device" in g:
        return cast(Actor | None, g.device)
    raw = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or ""
    device: Actor | None = None
    if raw:
        try:
            device = devices.device_actor(services(), raw, ip=client_ip())
        except Unauthenticated:
            device = None
    g.device = device
    return device


def requires(*perms: Perm) -> Callable[[F], F]:
    """Refuse anonymous callers (401) and callers lacking any of `perms` (403)."""

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            assert actor is not None
            for perm in perms:
                actor.require(perm)
            return fn(*args, **kwargs)

        wrapper.__dict__["required_perms"] = [p.value for p in perms]
        return cast(F, wrapper)

    return deco


def actor() -> Actor:
    a = current_actor()
    assert a is not None
    return a


# CSRF: HTML forms carry a per-session token; JSON calls with a session cookie must be JSON
# (a cross-site form cannot send application/json without a CORS preflight, which we never allow).
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return cast(str, token)


def check_csrf_form() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise Forbidden("页面已过期，请刷新后重试", code="csrf_failed")


def check_json_csrf() -> None:
    """Before every state-changing request authenticated by cookie: require a JSON body."""
    if request.method in {"GET", "HEAD", "OPTIONS"} or request.headers.get("X-API-Key"):
        return
    if session.get("user") and not request.is_json and request.path.startswith("/api/"):
        raise Forbidden("请求必须为 JSON 格式", code="csrf_failed")


# Outside the demo, a user who signed in with a demo or admin-set password may do nothing else first.
PASSWORD_PAGE = "/account/password"
_ALLOWED_WHILE_CHANGING = (PASSWORD_PAGE, "/api/auth/", "/login", "/logout", "/static/", "/assets/", "/_dash-")


def check_password_change() -> Any:
    """A redirect (pages) or a 403 (APIs, callbacks) while the session's password must still be changed."""
    if not session.get("must_change") or request.path.startswith(_ALLOWED_WHILE_CHANGING[:5]):
        return None
    if request.path.startswith("/api/") or request.path == "/_dash-update-component":
        raise Forbidden("请先修改初始密码", code="password_change_required")
    if request.path.startswith(_ALLOWED_WHILE_CHANGING[5:]):
        return None
    return redirect(PASSWORD_PAGE)
