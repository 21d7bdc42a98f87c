"""The admin page's view of the data API: each key with its datasets, last call and calls per day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from backend.db.models import ApiKey, DataApiUsage
from backend.domain.actor import Actor
from backend.domain.data_catalog import PII_SCOPE, READ_SCOPE_PREFIX
from backend.domain.data_datasets import DATASETS
from backend.domain.permissions import Perm
from backend.services.base import Services, transaction
from backend.services.data_api.access import flush_usage


def _datasets(scopes: list[str]) -> list[str]:
    """The datasets a key may read, in the catalog's order."""
    return [name for name in DATASETS if READ_SCOPE_PREFIX + name in scopes]


def overview(svc: Services, *, by: Actor, days: int = 7) -> dict[str, Any]:
    """Keys that hold a data scope or have called the API, with the last `days` local days of calls."""
    by.require(Perm.ADMIN)
    flush_usage(svc)
    today = svc.clock().astimezone(svc.tz).date()
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    with transaction(svc, readonly=True) as tx:
        keys = list(tx.session.scalars(select(ApiKey).order_by(ApiKey.id)))
        usage = list(tx.session.scalars(select(DataApiUsage).where(DataApiUsage.day >= day_list[0])))
        newest = (select(DataApiUsage.key_id, func.max(DataApiUsage.last_at).label("at"))
                  .group_by(DataApiUsage.key_id).subquery())
        last = {u.key_id: u for u in tx.session.scalars(select(DataApiUsage).join(
            newest, and_(newest.c.key_id == DataApiUsage.key_id, newest.c.at == DataApiUsage.last_at)))}
        rows = []
        for k in keys:
            mine = [u for u in usage if u.key_id == k.id]
            if not _datasets(k.scopes) and k.id not in last:
                continue
            rows.append(_key_row(k, mine, last.get(k.id), day_list))
    return {"days": [d.isoformat() for d in day_list], "keys": rows}


def _key_row(k: ApiKey, usage: list[DataApiUsage], last: DataApiUsage | None, days: list[date]) -> dict[str, Any]:
    per_day = dict.fromkeys(days, 0)
    for u in usage:
        per_day[u.day] = per_day.get(u.day, 0) + u.calls
    names = _datasets(k.scopes)
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "revoked": k.revoked_at is not None,
            "datasets": names, "dataset_labels": [DATASETS[n].label for n in names if n in DATASETS],
            "pii": PII_SCOPE in k.scopes, "calls": [per_day[d] for d in days],
            "total": sum(u.calls for u in usage), "errors": sum(u.errors for u in usage),
            "rows": sum(u.rows for u in usage),
            "last_at": last.last_at.isoformat() if last else None,
            "last_dataset": last.dataset if last else None, "last_status": last.last_status if last else None}
