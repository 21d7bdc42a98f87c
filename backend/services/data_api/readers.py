"""The shape every row dataset's read model has, and the SQL it shares: filters, keyset order, sync by exam.

A reader names its SELECT (every column labelled with its field name), which of those columns filter and
sort in SQL, and a `finish` step that adds what SQL does not give directly (timeline times, report text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, or_, type_coerce

from backend.db.base import TZDateTime
from backend.domain.data_query import DataQuery
from backend.services.base import Tx

Row = dict[str, Any]


@dataclass(frozen=True)
class RowReader:
    """A row dataset's read model (see the module docstring)."""

    select: Callable[[], Select[Any]]
    columns: Mapping[str, Any]  # field -> SQL expression, for every filterable or sortable field
    key: Any  # the key column (keyset tie-break)
    exam_id: Any  # the exam column: the sync feed names exams
    finish: Callable[[Tx, list[Row]], None] = lambda tx, rows: None
    # (field, value) of a cancelled row: such rows are also reported as tombstones by the sync.
    cancelled: tuple[str, str] | None = None
    # The key column when it is the exam id itself: an exam that no longer exists is a deletion.
    deletes_by_exam: bool = False
    scope: Sequence[Any] = field(default_factory=tuple)  # conditions every query of the dataset carries
    # A ledger's own change time: when set, the incremental sync follows it instead of the exam timeline.
    updated: Any = None

    @property
    def times(self) -> list[str]:
        return [name for name, col in self.columns.items() if isinstance(col.type, TZDateTime)]


def filtered(r: RowReader, q: DataQuery) -> Select[Any]:
    """The dataset's SELECT with the query's filters (values already typed by the domain parser)."""
    conds: list[ColumnElement[bool]] = list(r.scope)
    for name, values in q.equals.items():
        conds.append(r.columns[name].in_(values))
    for name, (lo, hi) in q.ranges.items():
        if lo is not None:
            conds.append(r.columns[name] >= lo)
        if hi is not None:
            conds.append(r.columns[name] < hi)
    stmt = r.select()
    return stmt.where(and_(*conds)) if conds else stmt


def keyset(r: RowReader, stmt: Select[Any], q: DataQuery, after: Sequence[Any] | None) -> Select[Any]:
    """Order by the sort field then the key, starting after `after` = (sort value, key) when given."""
    col, key = r.columns[q.sort], r.key
    same = col is key
    if after is not None:
        value, last = after
        if same:
            stmt = stmt.where(key < last if q.descending else key > last)
        elif q.descending:
            stmt = stmt.where(or_(col < value, and_(col == value, key < last)))
        else:
            stmt = stmt.where(or_(col > value, and_(col == value, key > last)))
    order = [col.desc(), key.desc()] if q.descending else [col.asc(), key.asc()]
    return stmt.order_by(*(order[:1] if same else order))


def labelled(columns: Mapping[str, Any]) -> list[Any]:
    """The SELECT list: every column under its field name; times come raw (see `fetch`)."""
    return [type_coerce(col, String).label(name) if isinstance(col.type, TZDateTime) else col.label(name)
            for name, col in columns.items()]


def utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime, from SQLite's text or PostgreSQL's timestamptz."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def fetch(tx: Tx, stmt: Select[Any], times: Iterable[str] = ()) -> list[Row]:
    """The rows as dicts; the `times` columns are parsed here with `fromisoformat`.

    SQLite's DATETIME result processor parses with a regular expression: on a page of 500 rows and ten
    times each that was a fifth of the page's cost.
    """
    result = tx.session.execute(stmt)
    names = list(result.keys())
    rows = [dict(zip(names, row, strict=True)) for row in result]
    for name in [t for t in times if t in names]:
        for row in rows:
            row[name] = utc(row[name])
    return rows


def by_exam(rows: Iterable[Row]) -> dict[int, list[Row]]:
    out: dict[int, list[Row]] = {}
    for row in rows:
        out.setdefault(int(row["exam_id"] if "exam_id" in row else row["id"]), []).append(row)
    return out
