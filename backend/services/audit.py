"""The audit trail: every staff read of a patient's record and every change.

A change is audited in its own transaction (`record`): the row commits with the change or not at all.
A read that changes nothing (`record_read`) is queued in this process and written in batches, at most
READ_BATCH rows or READ_MAX_AGE_S seconds later, by the read that fills the batch, by the `audit_reads`
job, or at a clean stop; a crash of the web process can lose that last moment of read rows, never a
change. Written one by one, the audit row of an exam-list read cost more than the read itself.
Rows keep the time of the read, and every audit search flushes the queue first.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, cast

from sqlalchemy import Table, insert, select

from backend.db.models import AuditEntry
from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services.base import Services, Tx, transaction


def record(tx: Tx, actor: Actor, action: str, entity: str, entity_id: object = "", **details: Any) -> None:
    """Append one audit row in the caller's transaction (details never carry names or ID numbers).

    A plain INSERT rather than an ORM object: audit rows are never read back in the same unit of work, and
    the ORM flush would cost more than the read it records (exam-list reads are audited on every call).
    """
    tx.session.execute(
        _INSERT,
        {"at": tx.now, "actor": actor.label, "action": action, "entity": entity, "entity_id": str(entity_id),
         "ip": actor.ip, "details": details},
    )


_INSERT = insert(cast(Table, AuditEntry.__table__))
logger = logging.getLogger(__name__)
READ_BATCH = 50
READ_MAX_AGE_S = 2.0
# Rows kept for a retry while the database refuses them; beyond this the oldest are dropped (and logged).
READ_BACKLOG_MAX = 20_000


class _ReadQueue:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[dict[str, Any]] = []
        self.since = 0.0


def _queue(svc: Services) -> _ReadQueue:
    q = svc.cache.get("audit_reads")
    if q is None:
        q = svc.cache.setdefault("audit_reads", _ReadQueue())  # atomic: racing threads share one queue
    return cast(_ReadQueue, q)


def record_read(svc: Services, actor: Actor, entity: str, entity_id: object = "", **details: Any) -> None:
    """Audit a read outside any write transaction (queued; see the module's note)."""
    row = {"at": svc.clock(), "actor": actor.label, "action": "read", "entity": entity,
           "entity_id": str(entity_id), "ip": actor.ip, "details": details}
    q = _queue(svc)
    with q.lock:
        if not q.rows:
            q.since = time.monotonic()
        q.rows.append(row)
        due = len(q.rows) >= READ_BATCH or time.monotonic() - q.since >= READ_MAX_AGE_S
    if due:
        flush_reads(svc)


def flush_reads(svc: Services) -> int:
    """Write the queued read rows in one transaction; on failure keep them for the next try. Returns rows written."""
    q = _queue(svc)
    with q.lock:
        rows, q.rows = q.rows, []
    if not rows:
        return 0
    try:
        with transaction(svc) as tx:
            tx.session.execute(_INSERT, rows)
    except Exception:
        logger.exception("audit: %d read rows not written yet; kept for the next flush", len(rows))
        with q.lock:
            q.rows[:0] = rows
            if len(q.rows) > READ_BACKLOG_MAX:
                logger.error("audit: dropping %d oldest read rows", len(q.rows) - READ_BACKLOG_MAX)
                del q.rows[: len(q.rows) - READ_BACKLOG_MAX]
            q.since = time.monotonic()
        return 0
    return len(rows)


def list_entries(
    svc: Services, actor: Actor, *, entity: str | None = None, entity_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Newest audit rows first, optionally for one entity."""
    actor.require(Perm.AUDIT_READ)
    flush_reads(svc)
    with transaction(svc, readonly=True) as tx:
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(limit, 1000))
        if entity:
            q = q.where(AuditEntry.entity == entity)
        if entity_id:
            q = q.where(AuditEntry.entity_id == entity_id)
        return [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "ip": e.ip, "details": e.details}
            for e in tx.session.scalars(q)
        ]
