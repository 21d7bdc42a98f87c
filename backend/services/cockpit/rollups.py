"""Cockpit rollups from the exam timeline: per-exam first marks and daily counters (docs/metrics.md).

`on_event` runs inside the transaction that appends a timeline row, so the counters are never behind
the timeline; `rebuild_all` recomputes both tables from `exam_events` with set-based SQL (after a bulk
history load, or to check the incremental path).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, cast, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from backend.db.models import Exam, ExamEvent
from backend.db.models.cockpit import CockpitDaily, CockpitMark
from backend.db.session import dialect_insert
from backend.domain.catalog import TimelineKind
from backend.domain.exam_flow import ExamStatus
from backend.domain.metrics import APPOINTMENT_KINDS, COUNTED, WITHDRAWN, MarkKind, local_day
from backend.services.base import Tx

# An exam with an appointment (scheduled_at) that is not cancelled counts on the appointment's day.
APPOINTMENT = MarkKind.APPOINTMENT
_ATTRS = ("modality", "category", "patient_class")


def _attrs(exam: Exam) -> dict[str, str]:
    return {"modality": exam.modality_code, "category": exam.category, "patient_class": exam.patient_class}


def _bump(session: Session, *, day: date, kind: str, attrs: dict[str, str], delta: int) -> None:
    stmt = dialect_insert(session, CockpitDaily).values(day=day, kind=kind, n=delta, **attrs)
    stmt = stmt.on_conflict_do_update(index_elements=["day", "kind", *_ATTRS],
                                      set_={"n": CockpitDaily.n + delta})
    session.execute(stmt)


def _mark(session: Session, exam: Exam, kind: str, *, at: datetime, day: date) -> None:
    """Insert the exam's first mark of `kind`; count it only when this call created it."""
    attrs = _attrs(exam)
    stmt = dialect_insert(session, CockpitMark).values(exam_id=exam.id, kind=kind, at=at, day=day, **attrs)
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    if session.execute(stmt.on_conflict_do_nothing().returning(CockpitMark.exam_id)).first() is not None:
        _bump(session, day=day, kind=kind, attrs=attrs, delta=1)


def _marks_of(session: Session, exam_id: int) -> list[Any]:
    return list(session.execute(select(CockpitMark.kind, CockpitMark.day, CockpitMark.at, *[
        getattr(CockpitMark, a) for a in _ATTRS]).where(CockpitMark.exam_id == exam_id)))


def _move(session: Session, exam: Exam, row: Any, *, day: date | None) -> None:
    """Move one mark to the exam's current attributes and `day` (or remove it when day is None)."""
    old = {a: getattr(row, a) for a in _ATTRS}
    _bump(session, day=row.day, kind=row.kind, attrs=old, delta=-1)
    where = and_(CockpitMark.exam_id == exam.id, CockpitMark.kind == row.kind)
    if day is None:
        session.execute(delete(CockpitMark).where(where).execution_options(synchronize_session=False))
        return
    session.execute(update(CockpitMark).where(where).values(day=day, **_attrs(exam))
                    .execution_options(synchronize_session=False))
    _bump(session, day=day, kind=row.kind, attrs=_attrs(exam), delta=1)


def _sync(session: Session, exam: Exam, *, now: datetime, tz: ZoneInfo) -> None:
    """Bring an exam's marks in line with its current attributes, appointment day and status."""
    want_appt = (local_day(exam.scheduled_at, tz)
                 if exam.scheduled_at is not None and exam.status != ExamStatus.CANCELLED else None)
    seen_appt = False
    for row in _marks_of(session, exam.id):
        want_day = want_appt if row.kind == APPOINTMENT else row.day
        seen_appt = seen_appt or row.kind == APPOINTMENT
        if want_day != row.day or any(getattr(row, a) != v for a, v in _attrs(exam).items()):
            _move(session, exam, row, day=want_day)
    if want_appt is not None and not seen_appt:
        _mark(session, exam, APPOINTMENT, at=now, day=want_appt)


def on_event(tx: Tx, exam: Exam, kind: TimelineKind) -> None:
    """Update the rollups for one new timeline row of `exam` (called by timeline.append)."""
    if kind in COUNTED:
        _mark(tx.session, exam, COUNTED[kind], at=tx.now, day=local_day(tx.now, tx.tz))
    if kind in WITHDRAWN:  # the mark goes; the next counted row of that kind marks the exam again
        for row in _marks_of(tx.session, exam.id):
            if row.kind == COUNTED[WITHDRAWN[kind]]:
                _move(tx.session, exam, row, day=None)
    if kind in APPOINTMENT_KINDS:
        _sync(tx.session, exam, now=tx.now, tz=tx.tz)


def _local_date_sql(session: Session, col: Any, tz: ZoneInfo) -> Any:
    """SQL for the local calendar day of a stored UTC instant, per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(tz.key, col), Date)
    jan, jul = (datetime(2025, m, 1, tzinfo=UTC).astimezone(tz).utcoffset() for m in (1, 7))
    if jan != jul or jan is None:
        raise NotImplementedError("set-based rebuild on SQLite needs a zone without daylight saving")
    return func.date(col, f"{int(jan.total_seconds() // 60):+d} minutes")


def rebuild_all(session: Session, *, tz: ZoneInfo | str) -> dict[str, int]:
    """Recompute marks and daily counters from exam_events and exams (set-based, no commit); `tz` is the
    site's zone (`Settings.site_timezone`)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    session.execute(delete(CockpitDaily))
    session.execute(delete(CockpitMark))
    cols = ["exam_id", "kind", "at", "day", *_ATTRS]
    later = aliased(ExamEvent)
    not_withdrawn = [or_(ExamEvent.kind != counted, ~select(later.id).where(
        later.exam_id == ExamEvent.exam_id, later.kind == withdrawing,
        or_(later.at > ExamEvent.at, and_(later.at == ExamEvent.at, later.id > ExamEvent.id))).exists())
        for withdrawing, counted in WITHDRAWN.items()]
    first = (select(ExamEvent.exam_id, ExamEvent.kind, func.min(ExamEvent.at).label("at"))
             .where(ExamEvent.kind.in_(tuple(COUNTED)), *not_withdrawn)
             .group_by(ExamEvent.exam_id, ExamEvent.kind).subquery())
    session.execute(dialect_insert(session, CockpitMark).from_select(cols, select(
        first.c.exam_id, first.c.kind, first.c.at, _local_date_sql(session, first.c.at, zone),
        Exam.modality_code, Exam.category, Exam.patient_class).join(Exam, Exam.id == first.c.exam_id)))
    booked = (select(ExamEvent.exam_id, func.min(ExamEvent.at).label("at"))
              .where(ExamEvent.kind == TimelineKind.SCHEDULED).group_by(ExamEvent.exam_id).subquery())
    session.execute(dialect_insert(session, CockpitMark).from_select(cols, select(
        booked.c.exam_id, literal(APPOINTMENT.value), booked.c.at, _local_date_sql(session, Exam.scheduled_at, zone),
        Exam.modality_code, Exam.category, Exam.patient_class).join(Exam, Exam.id == booked.c.exam_id)
        .where(Exam.scheduled_at.is_not(None), Exam.status != ExamStatus.CANCELLED)))
    group = [CockpitMark.day, CockpitMark.kind, *[getattr(CockpitMark, a) for a in _ATTRS]]
    session.execute(dialect_insert(session, CockpitDaily).from_select(
        ["day", "kind", *_ATTRS, "n"], select(*group, func.count()).group_by(*group)))
    marks = session.scalar(select(func.count()).select_from(CockpitMark)) or 0
    days = session.scalar(select(func.count()).select_from(CockpitDaily)) or 0
    return {"marks": marks, "daily_rows": days}


def snapshot(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Both rollup tables as sorted tuples (non-zero counters only), to compare two builds."""
    marks = sorted(tuple(r) for r in session.execute(select(
        CockpitMark.exam_id, CockpitMark.kind, CockpitMark.day, *[getattr(CockpitMark, a) for a in _ATTRS])))
    daily = sorted(tuple(r) for r in session.execute(select(
        CockpitDaily.day, CockpitDaily.kind, *[getattr(CockpitDaily, a) for a in _ATTRS], CockpitDaily.n)
        .where(CockpitDaily.n != 0)))
    return marks, daily
