"""Socket.IO hub: rooms per screen, room, queue, user and department, fed by domain events."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from flask import request, session
from flask_socketio import SocketIO, join_room

from backend.domain.events import PUBLIC_ROOM_PREFIXES, Event

logger = logging.getLogger(__name__)

# The Flask extension object (bound with init_app in create_app); creating it does no I/O.
socketio = SocketIO()

# Query parameters a client may use to subscribe; values are ids, joined as "<name>:<id>".
PUBLIC_SUBSCRIPTIONS = tuple(p.rstrip(":") for p in PUBLIC_ROOM_PREFIXES)
STAFF_SUBSCRIPTIONS = ("exams", "dashboard", "triage")


class SocketIONotifier:
    """Emits each event to its rooms; with a Redis message queue any process may emit."""

    def __init__(self, server: SocketIO) -> None:
        self.server = server

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.rooms:
                # One emit to all its rooms: a client in two of them hears the event once.
                self.server.emit(event.name, event.payload, to=list(event.rooms))


def external_notifier(redis_url: str) -> SocketIONotifier:
    """A notifier for processes other than web (scheduler, DICOM, MLLP): emits through Redis."""
    return SocketIONotifier(SocketIO(message_queue=redis_url, channel=queue_channel(redis_url)))


def queue_channel(redis_url: str | None) -> str:
    """The Socket.IO channel on Redis, one per database (pub/sub ignores the database number)."""
    from backend.bus import channel_name

    return channel_name(redis_url, "socketio") if redis_url else "flask-socketio"


def async_mode() -> str:
    """`gevent` in the gevent web worker (the standard library is monkey-patched there), else `threading`.

    The web process at scale holds thousands of WebSocket connections as greenlets (Flask-SocketIO's
    deployment guide: gunicorn's gevent worker); the embedded run and the tests keep one thread each.
    """
    monkey = sys.modules.get("gevent.monkey")
    return "gevent" if monkey is not None and monkey.is_module_patched("socket") else "threading"


def rooms_for_connection(args: Any, user: dict[str, Any] | None) -> list[str]:
    """Which rooms a new connection joins: public ones by query, staff ones only when logged in."""
    rooms = []
    for name in PUBLIC_SUBSCRIPTIONS:
        for value in args.getlist(name):
            if value and len(value) <= 64:
                rooms.append(f"{name}:{value}")
    if user:
        rooms.append(f"user:{user['id']}")
        if user.get("department_id"):
            rooms.append(f"dept:{user['department_id']}")
        for name in STAFF_SUBSCRIPTIONS:
            if args.get(name):
                rooms.append(name)
    return rooms


def _on_connect(auth: Any = None) -> None:
    user = session.get("user")
    for room in rooms_for_connection(request.args, user):
        join_room(room)
    logger.debug("socket connected sid=%s", getattr(request, "sid", "?"))


def _on_subscribe(data: Any) -> None:
    """A page may join more rooms after connecting ({"screen": "3"} style)."""
    if not isinstance(data, dict):
        return
    from werkzeug.datastructures import MultiDict

    for room in rooms_for_connection(MultiDict({k: str(v) for k, v in data.items()}), session.get("user")):
        join_room(room)


# Registered without decorators so that the handlers keep their types (Flask-SocketIO is untyped).
socketio.on_event("connect", _on_connect)
socketio.on_event("subscribe", _on_subscribe)
