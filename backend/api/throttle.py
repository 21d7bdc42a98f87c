"""Throttles at the edge: sign-in failures per account and per address (back-off tiers, 429 + Retry-After,
audited) and look-ups and check-ins per kiosk terminal. Counted with `limits` (Flask-Limiter's engine) in
memory, or in Redis when the installation has one, so every web process counts together."""

from __future__ import annotations

import math
import time
from typing import cast

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend.domain.errors import TooManyRequests

# Sign-in failures allowed before the next attempt waits: a short window, then longer ones (back-off).
ACCOUNT_LIMITS = tuple(parse(s) for s in ("5 per 1 minute", "10 per 15 minutes", "20 per 1 hour"))
ADDRESS_LIMITS = tuple(parse(s) for s in ("20 per 5 minutes", "60 per 1 hour"))


def init_app(app: Flask, redis_url: str | None) -> None:
    storage = storage_from_string(redis_url or "memory://")
    app.extensions["radops_throttle"] = MovingWindowRateLimiter(storage)


def _limiter() -> MovingWindowRateLimiter:
    return cast(MovingWindowRateLimiter, current_app.extensions["radops_throttle"])


def _wait(item: RateLimitItem, *ids: str) -> int:
    stats = _limiter().get_window_stats(item, *ids)
    if stats.remaining > 0:
        return 0
    return max(1, math.ceil(stats.reset_time - time.time()))


def login_wait(username: str, ip: str) -> int:
    """Seconds this account or address must wait before trying again (0: go ahead)."""
    account = username.strip().lower()[:64]
    waits = [_wait(i, "login-account", account) for i in ACCOUNT_LIMITS]
    waits += [_wait(i, "login-address", ip) for i in ADDRESS_LIMITS]
    return max(waits)


def login_failed(username: str, ip: str) -> None:
    account = username.strip().lower()[:64]
    for item in ACCOUNT_LIMITS:
        _limiter().hit(item, "login-account", account)
    for item in ADDRESS_LIMITS:
        _limiter().hit(item, "login-address", ip)


def kiosk_hit(terminal: str, per_minute: int) -> None:
    """Count one look-up or check-in of a kiosk terminal; refuse beyond `per_minute` (429)."""
    item = parse(f"{per_minute} per 1 minute")
    if not _limiter().hit(item, "kiosk", terminal):
        raise TooManyRequests("操作过于频繁，请稍候再试", retry_after=_wait(item, "kiosk", terminal) or 1,
                              code="kiosk_rate_limited")
