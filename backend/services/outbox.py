"""The outbox: units of outbound work written in the caller's transaction and drained by jobs with leases.

A row is claimed by one worker at a time (a lease), retried with a capped exponential back-off, dead after
the policy's last attempt, and unique on its idempotency key, so a crash or a second scheduler never sends
twice what the partner counts twice (DESIGN.md 5). States and rules: `backend/domain/outbox.py`.
Uploads call `enqueue` inside their own unit of work and run `drain` from a job; the ledger pages use
`list_items`, `counts` and `retry`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from backend.db.models import Outbox
from backend.db.session import dialect_insert
from backend.domain.actor import Actor
from backend.domain.errors import NotFound
from backend.domain.outbox import (
    OUTBOX_STATE_LABELS,
    GiveUp,
    OutboxState,
    OutboxTrigger,
    RetryPolicy,
    next_outbox_state,
)
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)
DEFAULT_POLICY = RetryPolicy()
DEFAULT_LEASE = timedelta(minutes=5)
LEASE_LOST = "租约到期未完成（工作进程中断或超时），已达最大尝试次数"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed unit of work as a handler sees it (plain values, no session attached)."""

    id: int
    kind: str
    target: str
    key: str
    payload: Mapping[str, Any]
    attempts: int  # including the one now under way
    lease_until: datetime


def enqueue(tx: Tx, *, kind: str, target: str, key: str, payload: Mapping[str, Any]) -> tuple[int, bool]:
    """Write one unit of work in the caller's transaction; return its id and whether this call created it.

    Idempotent on `key` (keys are global: start them with the kind, e.g. "cloud_study:1.2.3"): the same key
    again leaves the first row as it is, even from a concurrent transaction, without failing the caller.
    """
    stmt = dialect_insert(tx.session, Outbox).values(
        kind=kind, target=target, key=key, payload=dict(payload), state=OutboxState.PENDING.value, attempts=0,
        next_try_at=tx.now, last_error="", remote_ids={}, created_at=tx.now, updated_at=tx.now)
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    new_id = tx.session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]).returning(Outbox.id)).scalar()
    if new_id is not None:
        return int(new_id), True
    return int(tx.session.scalars(select(Outbox.id).where(Outbox.key == key)).one()), False


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Due and pending, or leased by a worker whose lease has run out (a crash or a hang)."""
    return or_(and_(Outbox.state == OutboxState.PENDING.value, Outbox.next_try_at <= now),
               and_(Outbox.state == OutboxState.LEASED.value, Outbox.lease_until < now))


def claim(svc: Services, *, kind: str, owner: str, lease: timedelta = DEFAULT_LEASE, limit: int = 10,
          policy: RetryPolicy = DEFAULT_POLICY) -> list[OutboxItem]:
    """Lease up to `limit` claimable rows of `kind` to `owner`, oldest due first, in a transaction of its own.

    On PostgreSQL the candidates are locked with SKIP LOCKED, so two workers never wait on or take the same
    row; on SQLite every writer holds the database from BEGIN IMMEDIATE, and the UPDATE repeats the claim
    condition. An expired lease whose row has no attempts left makes the row dead instead.
    """
    with transaction(svc) as tx:
        q = (select(Outbox.id, Outbox.attempts).where(Outbox.kind == kind, _claimable(tx.now))
             .order_by(Outbox.next_try_at, Outbox.id).limit(limit))
        if tx.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = tx.session.execute(q).all()
        spent = [r.id for r in rows if policy.exhausted(r.attempts)]
        if spent:
            _bury(tx, spent)
        ids = [r.id for r in rows if not policy.exhausted(r.attempts)]
        if not ids:
            return []
        claimed = tx.session.execute(
            update(Outbox).where(Outbox.id.in_(ids), _claimable(tx.now))
            .values(state=OutboxState.LEASED.value, lease_owner=owner, lease_until=tx.now + lease,
                    attempts=Outbox.attempts + 1, updated_at=tx.now)
            .returning(Outbox.id, Outbox.kind, Outbox.target, Outbox.key, Outbox.payload, Outbox.attempts,
                       Outbox.lease_until)
            .execution_options(synchronize_session=False)).all()
    items = sorted((OutboxItem(**r._asdict()) for r in claimed), key=lambda i: ids.index(i.id))
    logger.info("outbox %s: %s leased %d row(s)", kind, owner, len(items))
    return items


def _bury(tx: Tx, ids: list[int]) -> None:
    tx.session.execute(
        update(Outbox).where(Outbox.id.in_(ids))
        .values(state=OutboxState.DEAD.value, lease_owner=None, lease_until=None, last_error=LEASE_LOST,
                updated_at=tx.now)
        .execution_options(synchronize_session=False))
    logger.warning("outbox rows %s dead: lease expired on their last attempt", ids)


def _held(tx: Tx, item_id: int, owner: str) -> Outbox | None:
    """The row if `owner` still holds its lease (it may have expired, as long as nobody took it over)."""
    row = tx.session.get(Outbox, item_id, with_for_update=True)
    if row is None or row.state != OutboxState.LEASED.value or row.lease_owner != owner:
        logger.warning("outbox row %s is no longer leased to %s", item_id, owner)
        return None
    return row


def _move(tx: Tx, row: Outbox, trigger: OutboxTrigger) -> OutboxState:
    state = next_outbox_state(OutboxState(row.state), trigger)
    row.state, row.updated_at = state.value, tx.now
    if state is not OutboxState.LEASED:
        row.lease_owner, row.lease_until = None, None
    return state


def complete(svc: Services, item_id: int, *, owner: str, remote_ids: Mapping[str, Any] | None = None) -> bool:
    """Record a success (and what the partner called it); False when the lease was lost meanwhile."""
    with transaction(svc) as tx:
        row = _held(tx, item_id, owner)
        if row is None:
            return False
        _move(tx, row, OutboxTrigger.SUCCEED)
        row.last_error = ""
        row.remote_ids = dict(remote_ids or row.remote_ids)
        return True


def fail(svc: Services, item_id: int, *, owner: str, error: str,
         policy: RetryPolicy = DEFAULT_POLICY) -> OutboxState | None:
    """Record a failed attempt: pending again after the back-off, or dead when no attempts are left."""
    with transaction(svc) as tx:
        row = _held(tx, item_id, owner)
        if row is None:
            return None
        row.last_error = error[:2000]
        if policy.exhausted(row.attempts):
            return _move(tx, row, OutboxTrigger.GIVE_UP)
        row.next_try_at = tx.now + policy.delay(row.attempts)
        return _move(tx, row, OutboxTrigger.FAIL)


def give_up(svc: Services, item_id: int, *, owner: str, error: str) -> bool:
    """Make a leased row dead at once (retrying cannot help); a person may retry it from the ledger."""
    with transaction(svc) as tx:
        row = _held(tx, item_id, owner)
        if row is None:
            return False
        row.last_error = error[:2000]
        _move(tx, row, OutboxTrigger.GIVE_UP)
        return True


def release(svc: Services, item_id: int, *, owner: str, delay: timedelta = timedelta(0)) -> bool:
    """Hand a leased row back untried (e.g. the worker is stopping): the attempt does not count."""
    with transaction(svc) as tx:
        row = _held(tx, item_id, owner)
        if row is None:
            return False
        row.attempts = max(row.attempts - 1, 0)
        row.next_try_at = tx.now + delay
        _move(tx, row, OutboxTrigger.RELEASE)
        return True


def extend(svc: Services, item_id: int, *, owner: str, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Keep a long piece of work (a large upload) leased for `lease` from now; False if the lease was lost."""
    with transaction(svc) as tx:
        row = _held(tx, item_id, owner)
        if row is None:
            return False
        row.lease_until, row.updated_at = tx.now + lease, tx.now
        return True


Handler = Callable[[OutboxItem], Mapping[str, Any] | None]


@dataclass
class DrainReport:
    """What one `drain` call did, by outcome (ids)."""

    done: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # the lease ran out and another worker took the row

    @property
    def handled(self) -> int:
        return len(self.done) + len(self.retried) + len(self.dead) + len(self.lost)


def drain(svc: Services, kind: str, handler: Handler, owner: str, *, policy: RetryPolicy = DEFAULT_POLICY,
          lease: timedelta = DEFAULT_LEASE, batch: int = 10, max_items: int = 100) -> DrainReport:
    """Claim rows of `kind` batch by batch and hand each to `handler` outside any transaction.

    The handler returns the partner's ids (or None) on success, raises GiveUp when retrying cannot help,
    and raises anything else to be retried after the back-off. Stops when nothing is due or after
    `max_items` rows, so a job run is bounded.
    """
    report = DrainReport()
    while report.handled < max_items:
        items = claim(svc, kind=kind, owner=owner, lease=lease, limit=min(batch, max_items - report.handled),
                      policy=policy)
        if not items:
            break
        for item in items:
            _handle(svc, item, handler, owner, policy, report)
    return report


def _handle(svc: Services, item: OutboxItem, handler: Handler, owner: str, policy: RetryPolicy,
            report: DrainReport) -> None:
    try:
        remote_ids = handler(item)
    except GiveUp as exc:
        buried = give_up(svc, item.id, owner=owner, error=str(exc) or "对方拒绝接收")
        (report.dead if buried else report.lost).append(item.id)
        return
    except Exception as exc:  # any failure of the partner or of the handler is retried later
        logger.warning("outbox %s row %s attempt %d failed: %s", item.kind, item.id, item.attempts,
                       type(exc).__name__)
        state = fail(svc, item.id, owner=owner, error=f"{type(exc).__name__}: {exc}", policy=policy)
        target = report.lost if state is None else report.dead if state is OutboxState.DEAD else report.retried
        target.append(item.id)
        return
    (report.done if complete(svc, item.id, owner=owner, remote_ids=remote_ids) else report.lost).append(item.id)


def _view(row: Outbox, svc: Services) -> dict[str, Any]:
    def local(at: datetime | None) -> str | None:
        return at.astimezone(svc.tz).isoformat(timespec="seconds") if at else None

    state = OutboxState(row.state)
    return {"id": row.id, "kind": row.kind, "target": row.target, "key": row.key, "state": state.value,
            "state_label": OUTBOX_STATE_LABELS[state], "attempts": row.attempts,
            "next_try_at": local(row.next_try_at), "last_error": row.last_error, "remote_ids": row.remote_ids,
            "lease_owner": row.lease_owner, "lease_until": local(row.lease_until),
            "created_at": local(row.created_at), "updated_at": local(row.updated_at)}


def list_items(svc: Services, *, by: Actor, kind: str | None = None, state: OutboxState | None = None,
               before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The ledger: rows newest first, filtered by kind and state, a page of `limit` before `before_id`."""
    by.require(Perm.ADMIN)
    q = select(Outbox).order_by(Outbox.id.desc()).limit(max(1, min(limit, 500)))
    if kind:
        q = q.where(Outbox.kind == kind)
    if state:
        q = q.where(Outbox.state == state.value)
    if before_id:
        q = q.where(Outbox.id < before_id)
    with transaction(svc, readonly=True) as tx:
        return [_view(row, svc) for row in tx.session.scalars(q)]


def counts(svc: Services, *, by: Actor, kind: str | None = None) -> dict[str, int]:
    """How many rows are in each state (every state present, zero included)."""
    by.require(Perm.ADMIN)
    q = select(Outbox.state, func.count()).group_by(Outbox.state)
    if kind:
        q = q.where(Outbox.kind == kind)
    with transaction(svc, readonly=True) as tx:
        found = {str(state): int(n) for state, n in tx.session.execute(q).all()}
    return {s.value: found.get(s.value, 0) for s in OutboxState}


def retry(svc: Services, item_id: int, *, by: Actor) -> dict[str, Any]:
    """Send a dead row again from now on, with a fresh count of attempts (InvalidTransition otherwise)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        row = tx.session.get(Outbox, item_id, with_for_update=True)
        if row is None:
            raise NotFound("未找到该发送任务", code="outbox_not_found")
        _move(tx, row, OutboxTrigger.RETRY)
        row.attempts, row.next_try_at = 0, tx.now
        audit.record(tx, by, "outbox.retry", "outbox", row.id, kind=row.kind, last_error=row.last_error[:200])
        return _view(row, svc)
