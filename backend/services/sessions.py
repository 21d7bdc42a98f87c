"""Server-side staff sessions: the signed cookie carries a random session id; the row says whether it still
holds. Ended at logout, password change, deactivation, by an admin ("sign out everywhere") and after the
idle timeout (runtime setting `auth.idle_timeout_min`). A copied cookie dies with its row.

Each process remembers a session's answer for `auth.ACTOR_TTL_SECONDS`; an ending is published on the
revocation bus, so every process forgets it at once (and a process that missed it, within that lifetime).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from backend.db.models import User
from backend.db.models.security import UserSession
from backend.domain.actor import Actor
from backend.domain.errors import NotFound
from backend.domain.permissions import Perm
from backend.services import audit, settings_store
from backend.services.base import Services, transaction

# The last-activity time is written at most this often (a write per request would serialize SQLite).
TOUCH_EVERY_S = 60


@dataclass(frozen=True)
class Live:
    """What a process remembers about one live session (the cache entry's value)."""

    kind: str
    id: int  # the user's id: `auth.forget("user", id)` drops it with the user's other entries
    session_id: int
    last_seen: datetime
    idle_min: int


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start(svc: Services, actor: Actor, *, ip: str = "") -> str:
    """Open a session for a signed-in user; returns the random id that goes into the cookie."""
    raw = secrets.token_urlsafe(32)
    with transaction(svc) as tx:
        tx.session.add(UserSession(token_hash=_digest(raw), user_id=int(actor.id or 0), started_at=tx.now,
                                   last_seen_at=tx.now, ip=ip[:64]))
    return raw


def resolve(svc: Services, raw: str, *, user_id: int, activity: bool = True) -> bool:
    """Whether the session `raw` of `user_id` still holds; ends it when idle too long; notes activity."""
    key = f"session:{_digest(raw)}"
    hit = svc.cache.get(key)
    from backend.services.auth import ACTOR_TTL_SECONDS

    live: Live | None = hit[1] if hit is not None and time.monotonic() - hit[0] < ACTOR_TTL_SECONDS else None
    if live is None:
        live = _load(svc, raw)
        if live is None:
            svc.cache.pop(key, None)
            return False
        svc.cache[key] = (time.monotonic(), live)
    if live.id != user_id:
        return False
    now = svc.clock()
    idle_s = (now - live.last_seen).total_seconds()
    if live.idle_min and idle_s > live.idle_min * 60:
        end(svc, raw, reason="idle")
        return False
    if activity and idle_s > TOUCH_EVERY_S:
        with transaction(svc) as tx:
            tx.session.execute(update(UserSession).where(UserSession.id == live.session_id)
                               .values(last_seen_at=tx.now))
        svc.cache[key] = (hit[0] if hit else time.monotonic(), Live("user", live.id, live.session_id, now,
                                                                     live.idle_min))
    return True


def _load(svc: Services, raw: str) -> Live | None:
    with transaction(svc, readonly=True) as tx:
        row = tx.session.scalars(select(UserSession).where(UserSession.token_hash == _digest(raw))).first()
        if row is None or row.ended_at is not None:
            return None
        idle = int(settings_store.get_in(tx, "auth.idle_timeout_min"))
        return Live("user", row.user_id, row.id, row.last_seen_at, idle)


def end(svc: Services, raw: str, *, reason: str) -> None:
    """End one session (logout, idle); harmless when it has ended already."""
    digest = _digest(raw)
    with transaction(svc) as tx:
        tx.session.execute(update(UserSession).where(UserSession.token_hash == digest,
                                                     UserSession.ended_at.is_(None))
                           .values(ended_at=tx.now, end_reason=reason))
    _forget_everywhere(svc, "session", digest)


def end_for_user(svc: Services, user_id: int, *, reason: str, keep: str | None = None) -> int:
    """End every session of one user (password change, deactivation, sign out everywhere), but `keep`."""
    with transaction(svc) as tx:
        stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        if keep:
            stmt = stmt.where(UserSession.token_hash != _digest(keep))
        n = tx.session.execute(stmt.values(ended_at=tx.now, end_reason=reason)).rowcount  # type: ignore[attr-defined]
    _forget_everywhere(svc, "user", str(user_id))
    return int(n or 0)


def sign_out_everywhere(svc: Services, user_id: int, *, by: Actor) -> int:
    """An admin ends every session of a user at once (a lost badge, a shared screen left signed in)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        if tx.session.get(User, user_id) is None:
            raise NotFound(f"用户不存在：{user_id}", code="user_not_found")
        audit.record(tx, by, "sign_out_everywhere", "user", user_id)
    return end_for_user(svc, user_id, reason="admin")


def live_sessions(svc: Services, user_id: int, *, by: Actor) -> list[dict[str, Any]]:
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(UserSession).where(UserSession.user_id == user_id,
                                                            UserSession.ended_at.is_(None))
                                  .order_by(UserSession.id))
        return [{"id": r.id, "started_at": r.started_at.isoformat(), "last_seen_at": r.last_seen_at.isoformat(),
                 "ip": r.ip} for r in rows]


def _forget_everywhere(svc: Services, kind: str, ident: str) -> None:
    from backend.services.auth import revoke_everywhere

    revoke_everywhere(svc, kind, ident)
