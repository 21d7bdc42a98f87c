"""The audit trail: every staff read of a patient's record and every change."""

from __future__ import annotations

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


def list_entries(
    svc: Services, actor: Actor, *, entity: str | None = None, entity_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Newest audit rows first, optionally for one entity."""
    actor.require(Perm.AUDIT_READ)
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
