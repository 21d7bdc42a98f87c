"""Scheduled jobs: registration on an APScheduler, and the lease helper that claims work rows safely."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import or_, select, update

from backend.db.models import Outbox
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)

# (name, seconds between runs, function of Services); modules add theirs with `job()`.
JOBS: list[tuple[str, int, Callable[[Services], Any]]] = []


def job(name: str, *, every_seconds: int) -> Callable[[Callable[[Services], Any]], Callable[[Services], Any]]:
    """Declare a periodic job; it must be idempotent (another scheduler may run it too)."""

    def deco(fn: Callable[[Services], Any]) -> Callable[[Services], Any]:
        JOBS.append((name, every_seconds, fn))
        return fn

    return deco


def build_scheduler(svc: Services) -> BackgroundScheduler:
    """A scheduler with every declared job; started only by an entrypoint, never by create_app."""
    from backend.discovery import import_all

    import_all("backend.tasks")

    scheduler = BackgroundScheduler(timezone="UTC")
    for name, seconds, fn in JOBS:
        scheduler.add_job(_guarded(name, fn), "interval", args=[svc], seconds=seconds, id=name,
                          max_instances=1, coalesce=True, replace_existing=True)
    return scheduler


def _guarded(name: str, fn: Callable[[Services], Any]) -> Callable[[Services], None]:
    def run(svc: Services) -> None:
        try:
            fn(svc)
        except Exception:  # a failing job must not kill the scheduler thread
            logger.exception("job %s failed", name)

    return run


def claim(tx: Tx, *, kind: str, owner: str, lease: timedelta, limit: int = 10) -> list[Outbox]:
    """Claim up to `limit` due outbox rows of `kind` for `owner` until the lease ends.

    A row is claimable when pending, due, and not leased (or its lease expired). The claim is a
    conditional UPDATE per row, so of two schedulers racing for a row exactly one wins; on
    PostgreSQL the candidates are read with SKIP LOCKED so they do not wait on each other.
    """
    now = tx.now
    q = (select(Outbox.id).where(Outbox.kind == kind, Outbox.state == "pending", Outbox.next_try_at <= now,
                                 or_(Outbox.lease_until.is_(None), Outbox.lease_until < now))
         .order_by(Outbox.next_try_at, Outbox.id).limit(limit))
    if tx.session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    claimed = []
    for row_id in tx.session.scalars(q).all():
        res = tx.session.execute(
            update(Outbox).where(Outbox.id == row_id, or_(Outbox.lease_until.is_(None), Outbox.lease_until < now))
            .values(lease_owner=owner, lease_until=now + lease).execution_options(synchronize_session=False))
        if res.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(row_id)
    return list(tx.session.scalars(select(Outbox).where(Outbox.id.in_(claimed)))) if claimed else []


def enqueue(tx: Tx, *, kind: str, target: str, key: str, payload: dict[str, Any]) -> None:
    """Write one unit of outbound work in the caller's transaction (idempotent on `key`)."""
    if tx.session.scalars(select(Outbox.id).where(Outbox.key == key)).first() is None:
        tx.session.add(Outbox(kind=kind, target=target, key=key, payload=payload, state="pending",
                              next_try_at=tx.now, created_at=tx.now))


def finish(svc: Services, row_id: int, *, owner: str, error: str | None = None,
           remote_ids: dict[str, Any] | None = None, backoff: timedelta = timedelta(minutes=1)) -> None:
    """Record the outcome of a claimed row: done, or pending again after a growing back-off."""
    with transaction(svc) as tx:
        row = tx.session.get(Outbox, row_id)
        if row is None or row.lease_owner != owner:
            return
        row.attempts += 1
        row.lease_owner, row.lease_until = None, None
        if error is None:
            row.state, row.last_error = "done", ""
            row.remote_ids = remote_ids or row.remote_ids
        else:
            row.last_error = error[:2000]
            row.next_try_at = tx.now + backoff * (2 ** min(row.attempts - 1, 8))
            row.state = "failed" if row.attempts >= 10 else "pending"
