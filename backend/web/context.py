"""What Dash pages and callbacks need from the request: the services and the signed-in Actor."""

from __future__ import annotations

from typing import Any, cast

from flask import current_app, has_request_context, request, session

from backend.api.security import csrf_token
from backend.domain.actor import Actor
from backend.services import auth
from backend.services.base import Services


def services() -> Services:
    return cast(Services, current_app.extensions["radops"])


def form_token() -> str:
    """The session's CSRF token for an HTML form a page renders (e.g. sign-out)."""
    return csrf_token()


def page_actor() -> Actor | None:
    """The signed-in staff member, re-read from the database (a disabled account is out at once)."""
    if not has_request_context():
        return None
    user = session.get("user")
    if not user:
        return None
    return auth.actor_by_user_id(services(), int(user["id"]), ip=request.remote_addr or "")


def socket_options(query: dict[str, str] | None = None) -> dict[str, Any]:
    """Options of a page's Socket.IO client: WebSocket only, so that several web processes behind a proxy
    need no sticky sessions (long-polling would send each poll to any process); `query` picks the rooms."""
    return {"transports": ["websocket"], **({"query": query} if query else {})}
