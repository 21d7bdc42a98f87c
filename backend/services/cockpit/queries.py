"""Reads behind the cockpit: sums over the rollups for a window, critical values, today's waits.

A window's sum reads whole days from `cockpit_daily` and its last (partial) day from `cockpit_marks`,
so its cost depends on the window's length, never on how much history the database holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from backend.db.models import CriticalValue, Exam, ExamEvent, ExamItem, Patient
from backend.db.models.cockpit import CockpitDaily, CockpitMark
from backend.domain.critical import notified_within
from backend.domain.metrics import WAIT_KINDS, MarkKind, Window, fold_waits, local_day, waited
from backend.services.base import Tx

Key = tuple[Any, ...]


def _filters(model: Any, kinds: Iterable[str], where: dict[str, Iterable[str]]) -> list[Any]:
    out = [model.kind.in_(tuple(kinds))]
    out += [getattr(model, col).in_(tuple(vals)) for col, vals in where.items()]
    return out


def window_sum(tx: Tx, kinds: Iterable[str], w: Window, *, by: tuple[str, ...] = (),
               where: dict[str, Iterable[str]] | None = None) -> Counter[Key]:
    """Counts of marks of `kinds` inside window `w`, grouped by rollup columns `by`."""
    kinds, where = tuple(kinds), where or {}
    end_day = local_day(w.end, tx.tz)
    out: Counter[Key] = Counter()
    if end_day > w.start_day:
        cols = [getattr(CockpitDaily, c) for c in by]
        q = (select(*cols, func.sum(CockpitDaily.n)).where(
            CockpitDaily.day >= w.start_day, CockpitDaily.day < end_day, *_filters(CockpitDaily, kinds, where))
            .group_by(*cols))
        for row in tx.session.execute(q):
            out[tuple(row[:-1])] += int(row[-1] or 0)
    cols = [getattr(CockpitMark, c) for c in by]
    q = (select(*cols, func.count()).where(CockpitMark.day == end_day, CockpitMark.at <= w.end,
                                           *_filters(CockpitMark, kinds, where))
         .group_by(*cols))
    for row in tx.session.execute(q):
        out[tuple(row[:-1])] += int(row[-1] or 0)
    return out


def appointments_on(tx: Tx, day: date, *, until: datetime, where: dict[str, Iterable[str]]) -> Counter[Key]:
    """Appointments falling on a local day (booked up to `until`), by modality."""
    q = (select(CockpitMark.modality, func.count()).where(
        CockpitMark.day == day, CockpitMark.at <= until, *_filters(CockpitMark, (MarkKind.APPOINTMENT,), where))
        .group_by(CockpitMark.modality))
    return Counter({(m,): int(n) for m, n in tx.session.execute(q)})


def daily_series(tx: Tx, kinds: Iterable[str], first_day: date, end: datetime, *, by: tuple[str, ...],
                 where: dict[str, Iterable[str]] | None = None) -> Counter[Key]:
    """Counts per (day, kind, *by) from `first_day` to the moment `end` (whose day is partial)."""
    kinds, where = tuple(kinds), where or {}
    end_day = local_day(end, tx.tz)
    out: Counter[Key] = Counter()
    cols = [CockpitDaily.day, CockpitDaily.kind, *[getattr(CockpitDaily, c) for c in by]]
    q = (select(*cols, func.sum(CockpitDaily.n)).where(
        CockpitDaily.day >= first_day, CockpitDaily.day < end_day, *_filters(CockpitDaily, kinds, where))
        .group_by(*cols))
    for row in tx.session.execute(q):
        out[tuple(row[:-1])] += int(row[-1] or 0)
    mcols = [CockpitMark.kind, *[getattr(CockpitMark, c) for c in by]]
    q = (select(*mcols, func.count()).where(CockpitMark.day == end_day, CockpitMark.at <= end,
                                            *_filters(CockpitMark, kinds, where)).group_by(*mcols))
    for row in tx.session.execute(q):
        out[(end_day, *row[:-1])] += int(row[-1] or 0)
    return out


def critical_counts(tx: Tx, w: Window, limit: timedelta) -> tuple[int, int]:
    """(raised in the window, of which notified within `limit` by the window's end)."""
    rows = tx.session.execute(select(CriticalValue.raised_at, CriticalValue.notified_at).where(
        CriticalValue.raised_at >= w.start, CriticalValue.raised_at <= w.end))
    total = within = 0
    for raised_at, notified_at in rows:
        total += 1
        seen = notified_at if notified_at is not None and notified_at <= w.end else None
        within += notified_within(raised_at, seen, limit)
    return total, within


def critical_exam_ids(tx: Tx, w: Window) -> list[int]:
    return list(tx.session.scalars(select(CriticalValue.exam_id).where(
        CriticalValue.raised_at >= w.start, CriticalValue.raised_at <= w.end).order_by(CriticalValue.raised_at)))


def waits_today(tx: Tx, start: datetime, as_of: datetime) -> dict[int, tuple[datetime, datetime | None]]:
    """Today's check-ins: exam id -> (checked in at, started at or None while still waiting)."""
    rows = tx.session.execute(select(ExamEvent.exam_id, ExamEvent.kind, ExamEvent.at).where(
        ExamEvent.kind.in_(WAIT_KINDS), ExamEvent.at >= start, ExamEvent.at <= as_of)
        .order_by(ExamEvent.at, ExamEvent.id))
    return fold_waits((exam_id, kind, at) for exam_id, kind, at in rows)


def long_waits(tx: Tx, start: datetime, as_of: datetime, threshold: timedelta) -> list[dict[str, Any]]:
    """Exams of today whose wait exceeded `threshold` (started ones and those still waiting)."""
    over = {}
    for exam_id, (checked_in, started) in waits_today(tx, start, as_of).items():
        wait = waited(checked_in, started, as_of)
        if wait > threshold:
            over[exam_id] = (checked_in, started, wait)
    if not over:
        return []
    rows = tx.session.execute(select(Exam.id, Exam.accession, Exam.modality_code, Patient.name, ExamItem.name)
                              .join(Patient, Patient.id == Exam.patient_id)
                              .join(ExamItem, ExamItem.id == Exam.exam_item_id).where(Exam.id.in_(list(over))))
    out = []
    for exam_id, accession, modality, patient, item in rows:
        checked_in, started, wait = over[exam_id]
        out.append({"exam_id": exam_id, "accession": accession, "modality": modality, "patient": patient,
                    "exam": item, "checked_in_at": checked_in.isoformat(),
                    "started_at": started.isoformat() if started else None, "still_waiting": started is None,
                    "waited_min": int(wait.total_seconds() // 60),
                    "over_min": int((wait - threshold).total_seconds() // 60)})
    return sorted(out, key=lambda r: -r["waited_min"])


def marked_exam_ids(tx: Tx, kinds: Iterable[str], w: Window, where: dict[str, Iterable[str]],
                    *, limit: int) -> list[int]:
    """The exams behind a count: marks of `kinds` in the window (newest first)."""
    q = (select(CockpitMark.exam_id).where(CockpitMark.day >= w.start_day, CockpitMark.day <= local_day(
        w.end, tx.tz), CockpitMark.at <= w.end, *_filters(CockpitMark, kinds, where))
        .order_by(CockpitMark.at.desc()).limit(limit))
    return list(tx.session.scalars(q))
