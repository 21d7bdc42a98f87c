"""Who may read which dataset, masking of personal data, and the record of every call (audit and counts).

Every call is audited (queued like every read: backend/services/audit.py) with the key's name. The
per-day counts behind the admin page are kept in this process and added to `data_api_usage` in one
transaction at most USAGE_BATCH calls or USAGE_MAX_AGE_S seconds later (and by the `data_api_usage`
job), so a busy platform does not turn every read into a write.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy.orm import Session

from backend.db.models import DataApiUsage
from backend.db.session import dialect_insert
from backend.domain.actor import Actor
from backend.domain.data_catalog import PII_SCOPE, DatasetDef
from backend.domain.data_datasets import DATASETS
from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.masking import mask_name, mask_number
from backend.services import audit
from backend.services.base import Services, transaction

logger = logging.getLogger(__name__)
USAGE_BATCH = 50
USAGE_MAX_AGE_S = 5.0


def authorize(by: Actor, d: DatasetDef) -> bool:
    """Refuse a caller without the dataset's scope; True when the key may see personal data unmasked."""
    if by.kind != "api_key":
        raise Unauthenticated("数据接口须使用 API 密钥（请求头 X-API-Key）", code="api_key_required")
    if d.scope not in by.perms:
        raise Forbidden(f"该 API 密钥无权读取“{d.label}”（需要权限范围 {d.scope}）", code="dataset_forbidden",
                        needed=d.scope)
    return PII_SCOPE in by.perms


def mask(kind: str, value: Any) -> Any:
    """A personal value as the masking rules show it (names keep their shape, numbers their last 4)."""
    if value is None:
        return None
    return mask_name(str(value)) if kind == "name" else mask_number(str(value))


@dataclass
class _Usage:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict[tuple[int, Any, str], list[Any]] = field(default_factory=dict)
    calls: int = 0
    since: float = 0.0


def _buffer(svc: Services) -> _Usage:
    buf = svc.cache.get("data_api_usage")
    if buf is None:
        buf = svc.cache.setdefault("data_api_usage", _Usage())  # atomic: racing threads share one buffer
    return cast(_Usage, buf)


def record_call(svc: Services, by: Actor | None, dataset: str, *, status: int, rows: int = 0, code: str = "",
                ip: str = "", **details: Any) -> None:
    """Audit one data API call and count it for its key (`by` is None when no valid key was sent)."""
    who = by or Actor(kind="anonymous", id=None, name="", ip=ip)
    audit.record_read(svc, who, "data_api", dataset[:64], key_name=who.name, status=status, rows=rows,
                      **({"code": code} if code else {}), **details)
    if by is None or by.kind != "api_key" or by.id is None or dataset not in DATASETS:
        return  # counted per key and known dataset only: a made-up path must not grow the table
    at = svc.clock()
    buf = _buffer(svc)
    with buf.lock:
        if not buf.counts:
            buf.since = time.monotonic()
        row = buf.counts.setdefault((by.id, at.astimezone(svc.tz).date(), dataset), [0, 0, 0, at, status])
        row[0] += 1
        row[1] += 1 if status >= 400 else 0
        row[2] += rows
        row[3], row[4] = at, status
        buf.calls += 1
        due = buf.calls >= USAGE_BATCH or time.monotonic() - buf.since >= USAGE_MAX_AGE_S
    if due:
        flush_usage(svc)


def _upsert(session: Session, key: tuple[int, Any, str], value: list[Any]) -> None:
    calls, errors, rows, last_at, status = value
    ins = dialect_insert(session, DataApiUsage).values(
        key_id=key[0], day=key[1], dataset=key[2], calls=calls, errors=errors, rows=rows, last_at=last_at,
        last_status=status)
    t = DataApiUsage.__table__.c
    session.execute(ins.on_conflict_do_update(
        index_elements=[t.key_id, t.day, t.dataset],
        set_={"calls": t.calls + calls, "errors": t.errors + errors, "rows": t.rows + rows,
              "last_at": last_at, "last_status": status}))


def flush_usage(svc: Services) -> int:
    """Add the counted calls to `data_api_usage`; on failure keep them for the next try. Returns calls written."""
    buf = _buffer(svc)
    with buf.lock:
        counts, buf.counts, calls, buf.calls = buf.counts, {}, buf.calls, 0
    if not counts:
        return 0
    try:
        with transaction(svc) as tx:
            for key in sorted(counts, key=lambda k: (k[0], str(k[1]), k[2])):
                _upsert(tx.session, key, counts[key])
    except Exception:
        logger.exception("data api: %d counted calls not written yet; kept for the next flush", calls)
        with buf.lock:
            for key, value in counts.items():
                _merge(buf.counts, key, value)
            buf.calls += calls
        return 0
    return calls


def _merge(into: dict[tuple[int, Any, str], list[Any]], key: tuple[int, Any, str], value: list[Any]) -> None:
    row = into.get(key)
    if row is None:
        into[key] = list(value)
        return
    row[0] += value[0]
    row[1] += value[1]
    row[2] += value[2]
    if value[3] > row[3]:
        row[3], row[4] = value[3], value[4]
