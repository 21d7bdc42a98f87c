"""Admin views of runtime settings (validated changes) and of the audit trail (filtered search)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from backend.db.models import AuditEntry
from backend.domain.actor import Actor
from backend.domain.admin_rules import check_like
from backend.domain.errors import NotFound
from backend.domain.permissions import Perm
from backend.domain.settings_catalog import catalog
from backend.services import audit, settings_store
from backend.services.base import Services, transaction


def settings_by_group(svc: Services, *, by: Actor) -> dict[str, list[dict[str, Any]]]:
    """Every setting with its current value, grouped by the catalog's group (in catalog order)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in settings_store.list_all(svc, by=by):
        out.setdefault(row["group"], []).append(row)
    return out


def change_setting(svc: Services, key: str, value: Any, *, by: Actor) -> Any:
    """Change one setting; JSON settings must keep the shape of their default (integers stay integers)."""
    by.require(Perm.ADMIN)
    defn = catalog().get(key)
    if defn is None:
        raise NotFound(f"未知设置项：{key}", code="unknown_setting")
    if defn.kind == "json":
        check_like(defn.default, value)
    return settings_store.put(svc, key, value, by=by)


def search_audit(
    svc: Services, *, by: Actor, entity: str | None = None, entity_id: str | None = None, actor: str | None = None,
    day_from: date | None = None, day_to: date | None = None, limit: int = 200,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, filtered by entity, entity id, actor label and local days (inclusive)."""
    by.require(Perm.AUDIT_READ)
    audit.flush_reads(svc)
    with transaction(svc, readonly=True) as tx:
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
        if entity:
            q = q.where(AuditEntry.entity == entity)
        if entity_id:
            q = q.where(AuditEntry.entity_id == entity_id)
        if actor:
            q = q.where(AuditEntry.actor == actor)
        if day_from:
            q = q.where(AuditEntry.at >= datetime.combine(day_from, time(), tzinfo=tx.tz))
        if day_to:
            q = q.where(AuditEntry.at < datetime.combine(day_to + timedelta(days=1), time(), tzinfo=tx.tz))
        return [{"id": e.id, "at": e.at.isoformat(), "at_local": e.at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M:%S"),
                 "actor": e.actor, "action": e.action, "entity": e.entity, "entity_id": e.entity_id, "ip": e.ip,
                 "details": e.details}
                for e in tx.session.scalars(q)]
