"""The installation's Redis link beside Socket.IO: revocations published to every process, and a health ping.

A revocation is one JSON message `{"kind": ..., "id": ..., "origin": ...}` on one channel per Redis
database; every process (web, scheduler, listeners) subscribes and hands each message to its handlers, so
a revoked key, a deactivated user or (later) an ended server-side session stops working everywhere at
once. A subscriber that lost its connection drops everything it cached when it is back (kind `all`):
messages sent while it was away are gone, and the short cache lifetime in `services.auth` bounds the rest.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import redis

logger = logging.getLogger(__name__)

Handler = Callable[[str, str], None]


def channel_name(redis_url: str, topic: str) -> str:
    """Pub/sub channels are shared by every database of one Redis server: name them per database."""
    db = urlsplit(redis_url).path.strip("/") or "0"
    return f"radops.{db}.{topic}"


class RedisBus:
    """Publishes and receives revocations; safe to share between threads (redis-py pools connections)."""

    def __init__(self, redis_url: str, *, origin: str) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self._channel = channel_name(redis_url, "revocations")
        self._origin = origin
        self._handlers: list[Handler] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def revoke(self, kind: str, ident: str) -> None:
        message = json.dumps({"kind": kind, "id": ident, "origin": self._origin})
        try:
            self._redis.publish(self._channel, message)
        except redis.RedisError:
            # Revoked in the database already; other processes notice within the cache lifetime.
            logger.exception("revocation of %s %s not published", kind, ident)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def subscribe(self, handler: Handler) -> None:
        """Call `handler(kind, ident)` for every revocation from any process (this one included)."""
        self._handlers.append(handler)
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="revocations", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._redis.close()

    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:  # type: ignore[no-untyped-call]
                    pubsub.subscribe(self._channel)
                    if not first:
                        self._dispatch("all", "")
                    first = False
                    while not self._stop.is_set():
                        message = pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self._receive(message.get("data"))
            except redis.RedisError:
                logger.warning("revocation channel lost; reconnecting")
                self._stop.wait(1.0)

    def _receive(self, data: object) -> None:
        try:
            body = json.loads(data if isinstance(data, str | bytes) else "")
            kind, ident = str(body["kind"]), str(body.get("id", ""))
        except (ValueError, KeyError, TypeError):
            logger.warning("revocation message ignored: not understood")
            return
        self._dispatch(kind, ident)

    def _dispatch(self, kind: str, ident: str) -> None:
        for handler in list(self._handlers):
            try:
                handler(kind, ident)
            except Exception:
                logger.exception("revocation handler failed for %s", kind)
