"""The data API's read use case: authorise, parse, read one page (list, incremental sync or snapshot), mask.

Modes (docs/data_api.md): without `updated_since` a row dataset is listed in the asked order with keyset
pages; with it, the rows changed since then come in change order with tombstones for cancellations and
deletions; a snapshot dataset always answers its whole current picture. Every last page carries
`next_updated_since`, where the platform's next incremental sync starts.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, or_, select

from backend.db.models import Exam
from backend.domain import data_cursor
from backend.domain.actor import Actor
from backend.domain.data_catalog import DatasetDef
from backend.domain.data_datasets import DATASETS
from backend.domain.data_query import DataQuery, parse
from backend.domain.errors import InvalidInput, NotFound
from backend.services.base import Services, Tx, transaction
from backend.services.data_api import access, cadre_uploads, changes, cloud_uploads, critical, exams, reports, tickets
from backend.services.data_api.readers import Row, RowReader, fetch, filtered, keyset
from backend.services.data_api.snapshots import SNAPSHOTS

READERS: dict[str, RowReader] = {"exams": exams.READER, "reports": reports.READER,
                                 "critical_values": critical.READER, "queue_tickets": tickets.READER,
                                 "cloud_uploads": cloud_uploads.READER, "cadre_uploads": cadre_uploads.READER}
# An incremental sync reads the timeline of its window again for every page; a platform that was away
# longer than this copies the dataset again (without updated_since) instead.
MAX_SYNC_WINDOW = timedelta(days=7)


@dataclass
class Page:
    """One answer of the data API, before it is written as JSON or CSV."""

    dataset: DatasetDef
    query: DataQuery
    mode: str  # list / incremental / snapshot
    items: list[Row]
    horizon: datetime
    position: Any = None  # where the next page starts (signed into `next_cursor`); None on the last page
    next_cursor: str | None = None
    tombstones: list[Row] = field(default_factory=list)
    masked: bool = True
    note: str = ""

    def body(self) -> dict[str, Any]:
        last = self.next_cursor is None
        return {"dataset": self.dataset.name, "mode": self.mode, "count": len(self.items), "items": self.items,
                "tombstones": self.tombstones, "next_cursor": self.next_cursor,
                "next_updated_since": self.horizon.isoformat() if last else None, "masked": self.masked,
                "note": self.note}


def _secret(svc: Services) -> bytes:
    """The cursor key, derived from the installation's secret (a random one for a process without it)."""
    base = svc.settings.secret_key or svc.cache.setdefault("data_api_secret", secrets.token_hex(32))
    return hashlib.sha256(b"radops-data-api-cursor:" + base.encode()).digest()


def dataset(name: str) -> DatasetDef:
    d = DATASETS.get(name)
    if d is None:
        raise NotFound(f"没有数据集：{name[:40]}；可用：{'、'.join(DATASETS)}", code="unknown_dataset")
    return d


def read(svc: Services, name: str, args: dict[str, list[str]], *, by: Actor) -> Page:
    """One page of dataset `name` for the query string `args` (the caller's scopes decide; see module)."""
    d = dataset(name)
    pii = access.authorize(by, d)
    q = parse(d, args, svc.tz)
    state = data_cursor.verify(q.cursor, _secret(svc), query=q.fingerprint()) if q.cursor else {}
    with transaction(svc, readonly=True) as tx:
        horizon = _horizon(state, tx.now - changes.SYNC_LAG if d.kind == "rows" else tx.now)
        if d.kind == "snapshot":
            page = _snapshot(tx, d, q, state.get("a"), horizon)
        elif q.updated_since is not None and READERS[d.name].updated is not None:
            page = _sync_ledger(tx, d, q, state.get("a"), horizon)
        elif q.updated_since is not None:
            page = _sync(tx, d, q, int(state.get("a", 0)), horizon)
        else:
            page = _list(tx, d, q, state.get("a"), horizon)
        shape = _shaper(d, q, pii)
        page.items = [shape(r) for r in page.items]
    if page.position is not None:
        page.next_cursor = data_cursor.sign({"q": q.fingerprint(), "a": page.position, "h": horizon.isoformat()},
                                            _secret(svc))
    page.masked = not pii
    return page


def _horizon(state: dict[str, Any], default: datetime) -> datetime:
    if "h" not in state:
        return default
    try:
        return datetime.fromisoformat(str(state["h"]))
    except ValueError:
        raise InvalidInput("分页游标无效或已损坏", code="invalid_cursor") from None


def _shaper(d: DatasetDef, q: DataQuery, pii: bool) -> Callable[[Row], Row]:
    """A function giving one row's asked fields, personal ones masked unless `pii`, times as ISO 8601 text.

    Built once per page (a page of 500 exams is some 18,000 values): only the fields that need it are
    converted, and None stays None.
    """
    names = list(q.fields)
    convs: list[tuple[str, Callable[[Any], Any]]] = []
    for name in names:
        f = d.by_field[name]
        if f.pii and not pii:
            convs.append((name, partial(access.mask, f.pii)))
        elif f.type in ("datetime", "date"):
            convs.append((name, _iso))
    get = dict.get

    def shape(row: Row) -> Row:
        out = {name: get(row, name) for name in names}
        for name, conv in convs:
            value = out[name]
            if value is not None:
                out[name] = conv(value)
        return out

    return shape


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _after(d: DatasetDef, q: DataQuery, raw: Any) -> tuple[Any, Any] | None:
    """The (sort value, key) a list cursor points after, typed back from its JSON form."""
    if raw is None:
        return None
    try:
        value, key = raw
        kind = d.by_field[q.sort].type
        if kind == "datetime":
            value = datetime.fromisoformat(value)
        elif kind == "date":
            value = date.fromisoformat(value)
        return value, key
    except (TypeError, ValueError):
        raise InvalidInput("分页游标无效或已损坏", code="invalid_cursor") from None


def _jsonable(value: Any) -> Any:
    return value.isoformat() if value is not None and isinstance(value, datetime | date) else value


def _list(tx: Tx, d: DatasetDef, q: DataQuery, raw_after: Any, horizon: datetime) -> Page:
    r = READERS[d.name]
    stmt = keyset(r, filtered(r, q), q, _after(d, q, raw_after)).limit(q.limit + 1)
    rows = fetch(tx, stmt, [*r.times, "_updated"])
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    nxt = [_jsonable(rows[-1][q.sort]), rows[-1][d.key]] if more else None
    if rows:
        r.finish(tx, rows)
    return Page(d, q, "list", rows, horizon, position=nxt)


def _sync(tx: Tx, d: DatasetDef, q: DataQuery, after: int, horizon: datetime) -> Page:
    """One page of the rows changed in (updated_since, horizon], in change order, with tombstones."""
    since = q.updated_since
    assert since is not None
    if horizon - since > MAX_SYNC_WINDOW:
        raise InvalidInput(f"增量同步最多回溯 {MAX_SYNC_WINDOW.days} 天；更早的请不带 updated_since 全量读取",
                           code="updated_since_too_old", max_days=MAX_SYNC_WINDOW.days)
    r = READERS[d.name]
    feed = changes.changed_exams(tx, since=since, until=horizon, kinds=d.change_kinds, after=after,
                                 limit=q.limit + 1)
    more = len(feed) > q.limit
    feed = feed[: q.limit]
    order = {exam_id: i for i, (exam_id, _pos) in enumerate(feed)}
    rows = fetch(tx, filtered(r, q).where(r.exam_id.in_(list(order))), [*r.times, "_updated"]) if order else []
    if rows:
        r.finish(tx, rows)
    exam_key = "id" if r.deletes_by_exam else "exam_id"
    rows.sort(key=lambda row: (order[row[exam_key]], row[d.key]))
    tombs = [{d.key: row[d.key], "reason": "cancelled", "at": _jsonable(row["updated_at"])}
             for row in rows if r.cancelled and row[r.cancelled[0]] == r.cancelled[1]]
    if r.deletes_by_exam and order:
        present = set(tx.session.scalars(select(Exam.id).where(Exam.id.in_(list(order)))))
        tombs += [{d.key: e, "reason": "deleted", "at": None} for e in order if e not in present]
    return Page(d, q, "incremental", rows, max(horizon, since), position=feed[-1][1] if more else None,
                tombstones=tombs)


def _sync_ledger(tx: Tx, d: DatasetDef, q: DataQuery, raw_after: Any, horizon: datetime) -> Page:
    """One page of a ledger's rows changed in (updated_since, horizon], by their own change time (the upload
    ledgers change without an exam timeline row); removed rows are tombstones too."""
    since = q.updated_since
    assert since is not None
    if horizon - since > MAX_SYNC_WINDOW:
        raise InvalidInput(f"增量同步最多回溯 {MAX_SYNC_WINDOW.days} 天；更早的请不带 updated_since 全量读取",
                           code="updated_since_too_old", max_days=MAX_SYNC_WINDOW.days)
    r = READERS[d.name]
    col, key = r.updated, r.key
    stmt = filtered(r, q).where(col > since, col <= horizon)
    if raw_after is not None:
        try:
            at, last = datetime.fromisoformat(str(raw_after[0])), int(raw_after[1])
        except (TypeError, ValueError, IndexError, KeyError):
            raise InvalidInput("分页游标无效或已损坏", code="invalid_cursor") from None
        stmt = stmt.where(or_(col > at, and_(col == at, key > last)))
    rows = fetch(tx, stmt.order_by(col, key).limit(q.limit + 1), r.times)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    if rows:
        r.finish(tx, rows)
    tombs = [{d.key: row[d.key], "reason": "cancelled", "at": _jsonable(row["updated_at"])}
             for row in rows if r.cancelled and row[r.cancelled[0]] == r.cancelled[1]]
    position = [_jsonable(rows[-1]["updated_at"]), rows[-1][d.key]] if more else None
    return Page(d, q, "incremental", rows, max(horizon, since), position=position, tombstones=tombs)


def _snapshot(tx: Tx, d: DatasetDef, q: DataQuery, raw_after: Any, horizon: datetime) -> Page:
    rows = [row for row in SNAPSHOTS[d.name](tx) if all(row.get(k) in vs for k, vs in q.equals.items())]
    rows.sort(key=lambda row: str(row[d.key]))
    if raw_after is not None:
        rows = [row for row in rows if str(row[d.key]) > str(raw_after)]
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page(d, q, "snapshot", rows, horizon, position=str(rows[-1][d.key]) if more else None)
