"""Full cockpit refresh (all fifteen CP figures) from the rollups, against the same figures computed from
the raw tables with plain SQL and with DuckDB over the same data; prints p50/p95 and both ratios.

    .venv/bin/python bench/bench_cockpit.py --database-url sqlite:///var/bench/seed_hospital.db
    .venv/bin/python bench/bench_cockpit.py --database-url postgresql://postgres@127.0.0.1/radops_g_bench
A database without history gets a synthetic one first (--days, --per-day); rollups are (re)built when empty.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from _common import db_size_mb, emit, normalize, percentile
from cockpit_raw import DuckRaw, SqlRaw


def _prepare(url: str, *, days: int, per_day: int, as_of: datetime) -> dict[str, Any]:
    """Make sure the database holds history and rollups; returns what it did."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import func, select, text

    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.db.models import Exam, ExamEvent
    from backend.db.models.cockpit import CockpitMark
    from backend.db.session import make_engine, make_session_factory
    from backend.services.cockpit.rollups import rebuild_all

    upgrade(url)
    engine = make_engine(url)
    tz = ZoneInfo(Settings(database_url=url).site_timezone)
    out: dict[str, Any] = {}
    with make_session_factory(engine)() as s:
        if not s.scalar(select(func.count()).select_from(Exam)):
            from backend.seed.reference import seed_reference
            from tests.cockpit_demo import fill

            seed_reference(Settings(database_url=url), seed=1, now=as_of)
            t = time.perf_counter()
            out["synthetic"] = fill(s, now=as_of, tz=tz, days=days, per_day=per_day)
            out["synthetic_s"] = round(time.perf_counter() - t, 1)
        if not s.scalar(select(CockpitMark.exam_id).limit(1)):
            t = time.perf_counter()
            rebuild_all(s, tz=tz)
            s.commit()
            out["rebuild_all_s"] = round(time.perf_counter() - t, 2)
        s.execute(text("ANALYZE"))  # fresh planner statistics after a bulk load (both dialects)
        s.commit()
        out["exams"] = s.scalar(select(func.count()).select_from(Exam))
        out["events"] = s.scalar(select(func.count()).select_from(ExamEvent))
    engine.dispose()
    return out


def _time(fn: Any, runs: int) -> list[float]:
    fn()  # warm caches and plans
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--raw-runs", type=int, default=5)
    ap.add_argument("--as-of", default=None, help="ISO moment to compute for (default: the newest event)")
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--per-day", type=int, default=3000)
    ap.add_argument("--no-duckdb", action="store_true")
    ns = ap.parse_args()
    url = normalize(ns.database_url)

    from sqlalchemy import func, select

    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.models import ExamEvent
    from backend.db.session import make_engine, make_session_factory
    from backend.services.base import transaction
    from backend.services.cockpit import board as cockpit

    as_of = datetime.fromisoformat(ns.as_of) if ns.as_of else datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    prep = _prepare(url, days=ns.days, per_day=ns.per_day, as_of=as_of)
    engine = make_engine(url)
    if not ns.as_of:
        with engine.connect() as conn:
            newest = conn.scalar(select(func.max(ExamEvent.at)))
        as_of = newest.replace(tzinfo=UTC) if newest and newest.tzinfo is None else (newest or as_of)
    svc = build_services(Settings(database_url=url), session_factory=make_session_factory(engine))

    def service() -> dict[str, Any]:
        with transaction(svc, readonly=True) as tx:
            return cockpit.compute(tx, as_of)

    figs = service()
    svc_ms = _time(service, ns.runs)
    raw = SqlRaw(engine, tz=svc.tz)
    raw_figs = raw.figures(as_of)
    raw_ms = _time(lambda: raw.figures(as_of), ns.raw_runs)
    fig = {"dialect": engine.dialect.name, "db_mb": db_size_mb(url),
           "as_of": as_of.isoformat(), **prep,
           "service_p50_ms": round(percentile(svc_ms, 50), 1), "service_p95_ms": round(percentile(svc_ms, 95), 1),
           "raw_sql_p50_ms": round(percentile(raw_ms, 50), 1), "raw_sql_p95_ms": round(percentile(raw_ms, 95), 1),
           "raw_over_service_p95": round(percentile(raw_ms, 95) / max(percentile(svc_ms, 95), 1e-6), 1),
           "raw_matches_service": raw.matches(figs, raw_figs)}
    if not ns.no_duckdb:
        duck = DuckRaw(engine, tz=svc.tz)
        fig["duckdb_load_s"] = duck.load()
        duck_figs = duck.figures(as_of)
        duck_ms = _time(lambda: duck.figures(as_of), ns.raw_runs)
        fig |= {"duckdb_p50_ms": round(percentile(duck_ms, 50), 1), "duckdb_p95_ms": round(percentile(duck_ms, 95), 1),
                "duckdb_over_service_p95": round(percentile(duck_ms, 95) / max(percentile(svc_ms, 95), 1e-6), 1),
                "duckdb_matches_service": raw.matches(figs, duck_figs)}
    emit("cockpit_refresh", **fig)
    engine.dispose()


if __name__ == "__main__":
    main()
