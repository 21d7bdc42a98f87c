"""History of the demo hospital: months or years of exams with their timelines, reports and critical values.

Deterministic: the same `seed` and `now` give the same rows. Loaded in bulk (see bulk.py); refuses to run
twice on one database.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import random
import sys
import time as wall
import traceback
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from backend.config import Settings
from backend.db.models import Exam
from backend.db.session import make_engine
from backend.domain.exam_flow import ExamStatus
from backend.domain.numbering import accession_counter, accession_number
from backend.seed import history_data as data
from backend.seed.bulk import (
    BulkLoader,
    PipeSink,
    TimeFormat,
    create_indexes,
    drain,
    drop_secondary_indexes,
    finish_load,
)
from backend.seed.history_plan import Plan, Sampler, load_ref
from backend.seed.history_pool import PatientPool, SlotBook
from backend.seed.history_rows import RowWriter
from backend.seed.history_today import live_plans, write_tickets

logger = logging.getLogger(__name__)
ID_TABLES = ("patients", "exams", "exam_events", "reports", "report_versions", "critical_values", "slots",
             "queue_tickets")
# Above this many exams the plain indexes are dropped during the load and rebuilt after it.
REINDEX_ABOVE = 50_000
RETURN_RATE = {"outpatient": 0.4, "inpatient": 0.6, "emergency": 0.2, "health_check": 0.25}


class HistoryExists(RuntimeError):
    """The database already holds exams: history is seeded once, into a fresh database."""


def seed_history(settings: Settings, *, scale: str = "demo", seed: int = 20261127, days: int | None = None,
                 progress: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Seed `days` days of history up to `now` (default: the real time) at the `scale` of demo or hospital."""
    if scale not in data.SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(data.SCALES)}")
    per_day, default_days = data.SCALES[scale]
    days = days or default_days
    at = now or datetime.now(UTC)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            existing = conn.scalar(select(func.count()).select_from(Exam)) or 0
            if existing:
                raise HistoryExists(f"history not seeded: the database already has {existing} exams "
                                    "(seed history only once, into a fresh database)")
            ref = load_ref(conn)
            next_ids = {t: int(conn.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")) or 0) + 1
                        for t in ID_TABLES}
        dropped = drop_secondary_indexes(engine) if per_day * days >= REINDEX_ABOVE else []
        started = wall.monotonic()
        try:
            summary = _load(engine, settings, ref, next_ids, per_day=per_day, days=days, seed=seed, now=at,
                            progress=progress, parallel=bool(dropped))
        finally:
            if dropped:
                create_indexes(engine, dropped)
        finish_load(engine, ID_TABLES)
        summary["seconds"] = round(wall.monotonic() - started, 1)
    finally:
        engine.dispose()
    after_history(settings)
    logger.info("history seeded: %s", summary)
    return summary


def after_history(settings: Settings) -> None:
    """Rebuild what is derived from the timeline (the cockpit rollups) after a bulk history load."""
    from backend.db.session import make_engine, make_session_factory
    from backend.services.cockpit import rollups as cockpit_rollups

    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            cockpit_rollups.rebuild_all(session, tz=settings.site_timezone)
    finally:
        engine.dispose()


def _day_start(day: date, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, time.min, tzinfo=tz).timestamp())


def _load(engine: Engine, settings: Settings, ref: Any, ids: dict[str, int], *, per_day: int, days: int, seed: int,
          now: datetime, progress: bool, parallel: bool) -> dict[str, Any]:
    """Generate and write; large loads generate in a forked child while this process writes."""
    loader = BulkLoader(engine)
    job = _Job(ref, ids, per_day=per_day, days=days, seed=seed, now=now, tz=ZoneInfo(settings.site_timezone),
               progress=progress, dialect=engine.dialect.name)
    if parallel:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue(maxsize=16)
        child = ctx.Process(target=_child, args=(job, queue), daemon=True)
        child.start()
        try:
            result = drain(queue, loader)
        finally:
            child.join(timeout=60)
    else:
        result = job.run(loader)
    loader.flush()
    loader.execute_many("UPDATE slots SET capacity = ?, booked = ? WHERE id = ?", result.pop("slot_updates"))
    _set_counters(loader, result.pop("counters"))
    loader.close()
    return {**result, "rows": sum(loader.written.values())}


def _child(job: _Job, queue: Any) -> None:
    try:
        sink = PipeSink(queue)
        result = job.run(sink)
        sink.flush()
        queue.put(("result", result))
    except BaseException:
        queue.put(("error", traceback.format_exc()))
        raise


class _Job:
    """Everything the generation needs; runs in this process or in a forked child."""

    def __init__(self, ref: Any, ids: dict[str, int], *, per_day: int, days: int, seed: int, now: datetime,
                 tz: ZoneInfo, progress: bool, dialect: str) -> None:
        self.ref, self.ids, self.per_day, self.days, self.seed = ref, ids, per_day, days, seed
        self.now, self.tz, self.progress, self.dialect = now, tz, progress, dialect

    def run(self, loader: Any) -> dict[str, Any]:
        ref, ids, tz, per_day = self.ref, self.ids, self.tz, self.per_day
        rng = random.Random(self.seed)
        fmt = TimeFormat(self.dialect)
        now_ts = int(self.now.timestamp())
        slots = SlotBook(ref.slots, queue_code=ref.queue_code, factor=max(1, math.ceil(per_day / 150)),
                         loader=loader, fmt=fmt, next_id=ids["slots"])
        patients = PatientPool(rng, loader, fmt, ids["patients"])
        writer = RowWriter(loader, fmt, users=ref.users, now=now_ts, next_ids=ids, names=ref.names)
        sampler = Sampler(rng, ref)
        today = self.now.astimezone(tz).date()
        first = today - timedelta(days=self.days - 1)
        writer.today_start = _day_start(today, tz)
        exam_id, counters = ids["exams"], {}
        bar = _Progress(self.days, enabled=self.progress)
        for i in range(self.days):
            day = first + timedelta(days=i)
            plans = _day_plans(sampler, slots, day, _day_start(day, tz), per_day=per_day,
                               years_ago=(today - day).days / 365, now_ts=now_ts, rng=rng)
            if day == today:
                plans += live_plans(sampler, slots, day=day, day_start=writer.today_start, now_ts=now_ts,
                                    scale=max(1, per_day // 150))
            plans.sort(key=lambda p: p.t_order)
            for seq, p in enumerate(plans, 1):
                sex = "F" if p.item.code in data.FEMALE_ONLY else "M" if p.item.code in data.MALE_ONLY else None
                p.patient_id = patients.pick(sex=sex, at=p.t_order, day=day, return_rate=RETURN_RATE[p.cls])
                if writer.write(p, exam_id, accession_number(day, seq)) is ExamStatus.CANCELLED and p.slot is not None:
                    slots.release(p.slot)
                exam_id += 1
            if plans:
                counters[accession_counter(day)] = len(plans)
            loader.maybe_flush()
            if i % 7 == 6:
                loader.commit()
            bar.step(writer.counts["exams"])
        counters.update(write_tickets(loader, writer.checked_in_today, ref, today=today, fmt=fmt,
                                      next_id=ids["queue_tickets"]))
        bar.done()
        return {"days": self.days, "first_day": first.isoformat(), "today": today.isoformat(), **writer.counts,
                "patients": patients.created, "tickets_today": len(writer.checked_in_today),
                "slot_updates": slots.updates(), "counters": counters}


def _day_plans(sampler: Sampler, slots: SlotBook, day: date, day_start: int, *, per_day: int, years_ago: float,
               now_ts: int, rng: random.Random) -> list[Plan]:
    """The exams ordered on `day`; orders placed after now are not made (their slot places are given back)."""
    n = round(data.day_volume(day, per_day=per_day, years_ago=years_ago) * rng.uniform(0.92, 1.08))
    plans = []
    for _ in range(n):
        p = sampler.plan(day, day_start, slots=slots)
        if p.t_order <= now_ts:
            plans.append(p)
        elif p.slot is not None:
            slots.release(p.slot)
    return plans


def _set_counters(loader: BulkLoader, counters: dict[str, int]) -> None:
    """Counters continue after the seeded numbers, so later registrations never collide."""
    existing = dict(loader.execute("SELECT name, value FROM counters").fetchall())
    loader.execute_many("UPDATE counters SET value = ? WHERE name = ?",
                        [(max(v, existing[k]), k) for k, v in counters.items() if k in existing])
    loader.execute_many("INSERT INTO counters (name, value) VALUES (?, ?)",
                        [(k, v) for k, v in counters.items() if k not in existing])


class _Progress:
    """A one-line textual progress bar on stderr."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.start, self.done_steps = total, enabled, wall.monotonic(), 0

    def step(self, exams: int) -> None:
        self.done_steps += 1
        if not self.enabled:
            return
        frac = self.done_steps / self.total
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r历史数据 history [{bar:<30}] {frac:4.0%} day {self.done_steps}/{self.total} "
                         f"exams {exams:,} {wall.monotonic() - self.start:5.0f}s")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
