"""Reads behind the cockpit: sums over the rollups for a window, critical values, today's waits.

A window's sum reads whole days from `cockpit_daily` and its last (partial) day from `cockpit_marks`,
so its cost depends on the window's length, never on how much history the database holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import aliased

from backend.db.models import CriticalValue, Exam, ExamEvent, ExamItem, Patient
from backend.db.models.cockpit import CockpitDaily, CockpitMark
from backend.domain.catalog import TimelineKind
from backend.domain.metrics import (
    WAIT_KINDS,
    CriticalTally,
    MarkKind,
    Window,
    critical_tally,
    fold_waits,
    local_day,
    notice_time,
    waited,
)
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


def appointments_by_day(tx: Tx, days: list[date], until: datetime, where: dict[str, Iterable[str]]) -> dict[date, int]:
    """Appointments falling on each of `days` (booked up to `until`): the CP-7 sparkline."""
    q = (select(CockpitMark.day, func.count()).where(
        CockpitMark.day >= days[0], CockpitMark.day <= days[-1], CockpitMark.at <= until,
        *_filters(CockpitMark, (MarkKind.APPOINTMENT,), where)).group_by(CockpitMark.day))
    return {d: int(n) for d, n in tx.session.execute(q)}


def booked_on(tx: Tx, w: Window, where: dict[str, Iterable[str]]) -> dict[str, int]:
    """Appointments booked inside the window (whatever day they fall on), by modality."""
    q = (select(CockpitMark.modality, func.count()).where(
        CockpitMark.at >= w.start, CockpitMark.at <= w.end, *_filters(CockpitMark, (MarkKind.APPOINTMENT,), where))
        .group_by(CockpitMark.modality))
    return {m: int(n) for m, n in tx.session.execute(q)}


def booked_per_day(tx: Tx, start: datetime, end: datetime, where: dict[str, Iterable[str]]) -> Counter[Key]:
    """Appointments booked per local day: (day, "appointment", patient_class) -> n."""
    out: Counter[Key] = Counter()
    q = select(CockpitMark.at, CockpitMark.patient_class).where(
        CockpitMark.at >= start, CockpitMark.at <= end, *_filters(CockpitMark, (MarkKind.APPOINTMENT,), where))
    for at, cls in tx.session.execute(q):
        out[(local_day(at, tx.tz), MarkKind.APPOINTMENT.value, cls)] += 1
    return out


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


def critical_rows(tx: Tx, w: Window, modalities: Iterable[str], basis: str) -> list[tuple[datetime, datetime | None]]:
    """(raised_at, notice time on `basis`) of the critical values raised in the window on exams of the scope."""
    rows = tx.session.execute(
        select(CriticalValue.raised_at, CriticalValue.notified_at, CriticalValue.notified_recorded_at)
        .join(Exam, Exam.id == CriticalValue.exam_id)
        .where(CriticalValue.raised_at >= w.start, CriticalValue.raised_at <= w.end,
               Exam.modality_code.in_(tuple(modalities))))
    return [(raised, notice_time(stated, recorded, basis)) for raised, stated, recorded in rows]


def critical_tally_in(tx: Tx, w: Window, limit: timedelta, modalities: Iterable[str], basis: str) -> CriticalTally:
    return critical_tally(critical_rows(tx, w, modalities, basis), w.end, limit)


def critical_page(tx: Tx, w: Window, modalities: Iterable[str], *, after: tuple[datetime, int] | None,
                  limit: int) -> list[Any]:
    """One page of the critical values raised in the window (oldest first, keyset on raised_at, id)."""
    q = (select(CriticalValue, Exam.accession, ExamItem.name, Patient.name, Exam.modality_code)
         .join(Exam, Exam.id == CriticalValue.exam_id).join(Patient, Patient.id == Exam.patient_id)
         .join(ExamItem, ExamItem.id == Exam.exam_item_id)
         .where(CriticalValue.raised_at >= w.start, CriticalValue.raised_at <= w.end,
                Exam.modality_code.in_(tuple(modalities))))
    if after is not None:
        q = q.where(tuple_(CriticalValue.raised_at, CriticalValue.id) > tuple_(*after))
    return list(tx.session.execute(q.order_by(CriticalValue.raised_at, CriticalValue.id).limit(limit)))


def critical_count(tx: Tx, w: Window, modalities: Iterable[str]) -> int:
    return int(tx.session.scalar(select(func.count()).select_from(CriticalValue)
                                 .join(Exam, Exam.id == CriticalValue.exam_id)
                                 .where(CriticalValue.raised_at >= w.start, CriticalValue.raised_at <= w.end,
                                        Exam.modality_code.in_(tuple(modalities)))) or 0)


def waits_today(tx: Tx, start: datetime, as_of: datetime, modalities: Iterable[str] = (),
                carry: timedelta = timedelta(days=7)) -> dict[int, tuple[datetime, datetime | None]]:
    """Today's waits: exam id -> (checked in at, started at or None while still waiting).

    Today's check-ins, and patients who checked in before midnight (up to `carry` earlier) and had not
    started, been undone or cancelled by midnight: a patient still waiting stays on the list.
    """
    mods = tuple(modalities)
    scoped = [ExamEvent.exam_id.in_(select(Exam.id).where(Exam.modality_code.in_(mods)))] if mods else []
    later = aliased(ExamEvent)
    ended = (select(later.id).where(later.exam_id == ExamEvent.exam_id, later.at > ExamEvent.at, later.at < start,
                                    later.kind.in_(WAIT_KINDS)).exists())
    carried = list(tx.session.execute(select(ExamEvent.exam_id, ExamEvent.kind, ExamEvent.at, ExamEvent.id).where(
        ExamEvent.kind == TimelineKind.CHECKED_IN, ExamEvent.at >= start - carry, ExamEvent.at < start, ~ended,
        *scoped)))
    rows = tx.session.execute(select(ExamEvent.exam_id, ExamEvent.kind, ExamEvent.at, ExamEvent.id).where(
        ExamEvent.kind.in_(WAIT_KINDS), ExamEvent.at >= start, ExamEvent.at <= as_of, *scoped))
    ordered = sorted([*carried, *rows], key=lambda r: (r[2], r[3]))
    return fold_waits((exam_id, kind, at) for exam_id, kind, at, _id in ordered)


def long_waits(tx: Tx, start: datetime, as_of: datetime, threshold: timedelta,
               modalities: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Exams of today whose wait exceeded `threshold` (started ones and those still waiting)."""
    over = {}
    for exam_id, (checked_in, started) in waits_today(tx, start, as_of, modalities).items():
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


def marks_query(tx: Tx, kinds: Iterable[str], w: Window, where: dict[str, Iterable[str]], *,
                by_at: bool = False) -> Any:
    """The marks behind a count: marks of `kinds` counted in the window (by their day, or by when they were made)."""
    if by_at:
        span = [CockpitMark.at >= w.start, CockpitMark.at <= w.end]
    else:
        span = [CockpitMark.day >= w.start_day, CockpitMark.day <= local_day(w.end, tx.tz), CockpitMark.at <= w.end]
    return select(CockpitMark.exam_id, CockpitMark.at).where(*span, *_filters(CockpitMark, kinds, where))


def marks_count(tx: Tx, q: Any) -> int:
    return int(tx.session.scalar(select(func.count()).select_from(q.subquery())) or 0)


def marks_page(tx: Tx, q: Any, *, after: tuple[datetime, int] | None, limit: int) -> list[tuple[int, datetime]]:
    """One page of (exam_id, at), newest first; keyset on (at, exam_id) so deep pages cost the same."""
    if after is not None:
        q = q.where(tuple_(CockpitMark.at, CockpitMark.exam_id) < tuple_(*after))
    return [(int(i), at) for i, at in tx.session.execute(
        q.order_by(CockpitMark.at.desc(), CockpitMark.exam_id.desc()).limit(limit))]


def marked_exam_ids(tx: Tx, kinds: Iterable[str], w: Window, where: dict[str, Iterable[str]],
                    *, limit: int) -> list[int]:
    """The exams behind a count: marks of `kinds` in the window (newest first)."""
    return [i for i, _ in marks_page(tx, marks_query(tx, kinds, w, where), after=None, limit=limit)]
