"""The outbox: units of outbound work written in the caller's transaction and drained by jobs with leases.

A row is claimed by one worker at a time (a lease), retried with a growing back-off, and idempotent on
its key, so a crash or a second scheduler never sends twice what the partner counts twice (DESIGN.md 5).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from backend.db.models import Outbox
from backend.services.base import Services, Tx, transaction


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
