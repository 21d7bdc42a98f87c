"""Who is calling: a staff session or an X-API-Key; decorators that refuse the wrong caller."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request, session

from backend.domain.actor import Actor
from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.permissions import Perm
from backend.services import auth
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
    elif (user := session.get("user")) is not None:
        actor = auth.actor_by_user_id(services(), int(user["id"]), ip=client_ip())
        if actor is None:
            session.clear()
    g.actor = actor
    if actor is None and required:
        raise Unauthenticated("请先登录或提供 API 密钥", code="unauthenticated")
    return actor


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
