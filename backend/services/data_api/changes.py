"""The incremental-sync feed, read from the exam timeline: which exams changed in a time window, in order.

An exam's position in the feed is the id of its last timeline row in the window, so each exam appears
once per sync and the pages of one sync never overlap. The window ends SYNC_LAG before the first page's
"now": a timeline row carries its transaction's start time, and a transaction that is still open when the
feed is read must not be skipped by the next window (see docs/data_api.md, "Incremental sync").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, func, not_, or_, select, type_coerce

from backend.db.models import ExamEvent
from backend.services.base import Tx

SYNC_LAG = timedelta(seconds=30)
# Timeline kinds that change no dataset row (reminders to doctors, a report printed again).
NOISE_KINDS = ("er_reminder_%", "report_printed")


def _kind_filter(kinds: Sequence[str] | None) -> Any:
    def match(k: str) -> Any:
        return ExamEvent.kind.like(k) if k.endswith("%") else ExamEvent.kind == k

    if kinds is None:
        return not_(or_(*(match(k) for k in NOISE_KINDS)))
    return or_(*(match(k) for k in kinds))


def changed_exams(tx: Tx, *, since: datetime | None, until: datetime, kinds: Sequence[str] | None,
                  after: int, limit: int) -> list[tuple[int, int]]:
    """Up to `limit` (exam id, feed position) pairs changed in (since, until], after position `after`."""
    pos = func.max(ExamEvent.id)
    window = [ExamEvent.at <= until, _kind_filter(kinds)]
    if since is not None:
        window.append(ExamEvent.at > since)
    stmt = (select(ExamEvent.exam_id, pos).where(and_(*window)).group_by(ExamEvent.exam_id)
            .having(pos > after).order_by(pos).limit(limit))
    return [(int(e), int(p)) for e, p in tx.session.execute(stmt)]


def last_changes(tx: Tx, exam_ids: Iterable[int], kinds: Sequence[str] | None) -> dict[int, datetime]:
    """When each exam last changed (its newest timeline row of `kinds`)."""
    ids = list(exam_ids)
    if not ids:
        return {}
    stmt = (select(ExamEvent.exam_id, func.max(ExamEvent.at))
            .where(ExamEvent.exam_id.in_(ids), _kind_filter(kinds)).group_by(ExamEvent.exam_id))
    return {int(e): _aware(at) for e, at in tx.session.execute(stmt)}


def times_of(tx: Tx, exam_ids: Iterable[int], firsts: Sequence[str], kinds: Sequence[str] | None
             ) -> tuple[dict[tuple[int, str], datetime], dict[int, datetime]]:
    """In one grouped read: the first time each exam reached each of `firsts`, and its last change (`kinds`)."""
    ids = list(exam_ids)
    if not ids:
        return {}, {}
    cols = [type_coerce(func.min(case((ExamEvent.kind == k, ExamEvent.at))), String) for k in firsts]
    last_col = type_coerce(func.max(case((_kind_filter(kinds), ExamEvent.at))), String)
    stmt = select(ExamEvent.exam_id, last_col, *cols).where(ExamEvent.exam_id.in_(ids)).group_by(ExamEvent.exam_id)
    first: dict[tuple[int, str], datetime] = {}
    last: dict[int, datetime] = {}
    for exam_id, hi, *lows in tx.session.execute(stmt):
        if hi is not None:
            last[exam_id] = _aware(hi)
        for kind, lo in zip(firsts, lows, strict=True):
            if lo is not None:
                first[(exam_id, kind)] = _aware(lo)
    return first, last


def _aware(value: Any) -> datetime:
    """Aggregates bypass the column type on SQLite (a string, or a naive time): read them as UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
