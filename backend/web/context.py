"""What Dash pages and callbacks need from the request: the services and the signed-in Actor."""

from __future__ import annotations

import time
from typing import Any, cast

from flask import current_app, has_request_context

from backend.api.security import csrf_token, current_device, session_actor
from backend.domain.actor import Actor
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
    return session_actor()


def device_actor() -> Actor | None:
    """The enrolled kiosk or hall screen showing this page (its device cookie), or None."""
    if not has_request_context():
        return None
    return current_device()


def socket_options(query: dict[str, str] | None = None) -> dict[str, Any]:
    """Options of a page's Socket.IO client: WebSocket only, so that several web processes behind a proxy
    need no sticky sessions (long-polling would send each poll to any process); `query` picks the rooms."""
    return {"transports": ["websocket"], **({"query": query} if query else {})}


def kiosk_throttle(terminal: str) -> None:
    """Count one look-up or check-in of this kiosk; TooManyRequests beyond the per-terminal rate (14.2)."""
    from backend.api import throttle
    from backend.services import settings_store

    svc = services()
    hit = svc.cache.get("setting:kiosk.rate_per_min")
    if hit is None or time.monotonic() - hit[0] > 5:
        hit = (time.monotonic(), int(settings_store.get(svc, "kiosk.rate_per_min")))
        svc.cache["setting:kiosk.rate_per_min"] = hit
    throttle.kiosk_hit(terminal, int(hit[1]))
