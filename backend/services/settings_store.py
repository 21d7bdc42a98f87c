"""Runtime settings: stored values over the catalog's defaults; changes are audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import Setting
from backend.domain.actor import Actor
from backend.domain.errors import NotFound
from backend.domain.permissions import Perm
from backend.domain.settings_catalog import catalog, coerce
from backend.services import audit
from backend.services.base import Services, Tx, transaction


def get_in(tx: Tx, key: str) -> Any:
    """A setting's value inside the caller's transaction (the default when never set)."""
    defn = catalog().get(key)
    if defn is None:
        raise NotFound(f"未知设置项：{key}", code="unknown_setting")
    row = tx.session.get(Setting, key)
    return row.value if row is not None else defn.default


def get_many_in(tx: Tx, *keys: str) -> dict[str, Any]:
    """Several settings in one read (a hot path's one round trip instead of one per key)."""
    defs = catalog()
    unknown = [k for k in keys if k not in defs]
    if unknown:
        raise NotFound(f"未知设置项：{'、'.join(unknown)}", code="unknown_setting")
    stored = {row.key: row.value for row in tx.session.scalars(select(Setting).where(Setting.key.in_(keys)))}
    return {k: stored[k] if k in stored else defs[k].default for k in keys}


def get(svc: Services, key: str) -> Any:
    with transaction(svc, readonly=True) as tx:
        return get_in(tx, key)


def list_all(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        stored = {s.key: s for s in tx.session.scalars(select(Setting))}

        def changed(key: str) -> str | None:
            row = stored.get(key)
            return row.updated_at.isoformat() if row is not None and row.updated_at else None

        return [{"key": d.key, "label": d.label, "group": d.group, "kind": d.kind, "default": d.default,
                 "value": stored[d.key].value if d.key in stored else d.default,
                 "minimum": d.minimum, "maximum": d.maximum,
                 "updated_at": changed(d.key)}
                for d in catalog().values()]


def put(svc: Services, key: str, value: Any, *, by: Actor) -> Any:
    """Change one setting after validating it against the catalog."""
    by.require(Perm.ADMIN)
    defn = catalog().get(key)
    if defn is None:
        raise NotFound(f"未知设置项：{key}", code="unknown_setting")
    clean = coerce(defn, value)
    with transaction(svc) as tx:
        row = tx.session.get(Setting, key)
        old = row.value if row is not None else defn.default
        if row is None:
            tx.session.add(Setting(key=key, value=clean, updated_at=tx.now, updated_by=by.label))
        else:
            row.value, row.updated_at, row.updated_by = clean, tx.now, by.label
        audit.record(tx, by, "update", "setting", key, old=old, new=clean)
    return clean
