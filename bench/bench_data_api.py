"""The low-code data API on a hospital-scale database, through the whole Flask app (key check, rate limit,
query, JSON or CSV, audit): pages of 500 exams (p50/p95/p99) and a full incremental sync of one day.

Seed first (same database), then:
    DATABASE_URL=sqlite:////work/wt/lowcode/var/bench.db .venv/bin/python -m backend seed --scale hospital
    .venv/bin/python bench/bench_data_api.py --database-url sqlite:///var/bench.db [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import default_url, emit, normalize, percentile

ALL = ["data.read:exams", "data.read:reports", "data.read:critical_values", "data.read:queue_tickets"]


def _app(url: str) -> tuple[Any, str]:
    """The app on `url`, and a key that reads every row dataset (the per-key limit raised for the bench)."""
    from backend.app import create_app
    from backend.config import Settings
    from backend.seed import DEMO_LOGINS
    from backend.services import auth, settings_store

    app = create_app(Settings(database_url=url, secret_key="bench-secret", start_scheduler=False))
    svc = app.extensions["radops"]
    admin = auth.login(svc, "admin", {u: p for u, p, _ in DEMO_LOGINS}["admin"])
    settings_store.put(svc, "data_api.rate_per_minute", 6000, by=admin)
    return app, auth.create_api_key(svc, "bench", ALL, by=admin)


CPU: list[float] = []  # the process CPU time of each timed call (see _timed)


def _timed(client: Any, key: str, path: str, query: dict[str, Any]) -> tuple[float, Any]:
    """Wall time of one call; its CPU time goes to CPU (on a shared machine the wall time includes waiting
    for a core, which the CPU time does not)."""
    t0, c0 = time.perf_counter(), time.process_time()
    resp = client.get(f"/api/data/v1/{path}", query_string=query, headers={"X-API-Key": key})
    body = resp.get_data()  # a streamed CSV is read to its end
    elapsed = (time.perf_counter() - t0) * 1000
    CPU.append((time.process_time() - c0) * 1000)
    if resp.status_code != 200:
        raise SystemExit(f"{path} {query}: {resp.status_code} {body[:300]!r}")
    return elapsed, resp


def _stats(times: list[float], cpu: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
            "p99_ms": round(percentile(times, 99), 1), "cpu_p50_ms": round(percentile(cpu, 50), 1),
            "cpu_p95_ms": round(percentile(cpu, 95), 1)}


def _pages(client: Any, key: str, name: str, make: Any, runs: int) -> None:
    times, rows = [], 0
    CPU.clear()
    for i in range(runs):
        ms, resp = _timed(client, key, "exams", make(i))
        times.append(ms)
        rows += resp.get_json()["count"] if resp.is_json else resp.get_data(as_text=True).count("\n") - 1
    emit(f"data_api_{name}", runs=runs, rows_per_page=round(rows / runs), **_stats(times, CPU))


def _walk(client: Any, key: str, runs: int) -> None:
    """Consecutive pages through the cursor (the way a platform copies the table)."""
    cursor, times = None, []
    CPU.clear()
    for _ in range(runs):
        ms, resp = _timed(client, key, "exams", {"limit": 500, **({"cursor": cursor} if cursor else {})})
        times.append(ms)
        cursor = resp.get_json()["next_cursor"]
    emit("data_api_exams_500_next_pages", runs=runs, **_stats(times, CPU))


def _sync_day(client: Any, key: str, dataset: str, since: datetime) -> None:
    """Every page of one sync of the last day's changes, and how long all of them took."""
    t0, c0 = time.perf_counter(), time.process_time()
    cursor, pages, items, tombs = None, 0, 0, 0
    while True:
        query = {"updated_since": since.isoformat(), "limit": 1000, **({"cursor": cursor} if cursor else {})}
        _ms, resp = _timed(client, key, dataset, query)
        body = resp.get_json()
        pages, items, tombs = pages + 1, items + body["count"], tombs + len(body["tombstones"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    emit(f"data_api_sync_one_day_{dataset}", pages=pages, rows=items, tombstones=tombs,
         total_ms=round((time.perf_counter() - t0) * 1000, 1), cpu_ms=round((time.process_time() - c0) * 1000, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=None, help="default: the SQLite file bench_seed.py writes")
    ap.add_argument("--runs", type=int, default=40)
    ns = ap.parse_args()
    url = normalize(ns.database_url or default_url("seed_hospital.db"))

    from sqlalchemy import create_engine, func, select

    from backend.db.migrate import upgrade
    from backend.db.models import Exam, ExamEvent

    upgrade(url)  # this bench needs migration 0010's indexes on a database seeded before it
    engine = create_engine(url)
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(Exam.created_at), func.max(Exam.created_at))).one()
        newest_event = conn.scalar(select(func.max(ExamEvent.at)))
    engine.dispose()
    first, last = (datetime.fromisoformat(str(t)).replace(tzinfo=UTC) for t in (first, last))
    newest = datetime.fromisoformat(str(newest_event)).replace(tzinfo=UTC)
    app, key = _app(url)
    emit("data_api_machine", load_average_1m=round(os.getloadavg()[0], 1), cores=os.cpu_count())
    client = app.test_client()
    rng = random.Random(1)
    days = max(1, (last - first).days)

    def one_day(_i: int) -> dict[str, Any]:
        start = (first + timedelta(days=rng.randrange(days))).date()
        return {"limit": 500, "created_at_from": start.isoformat(),
                "created_at_to": (start + timedelta(days=1)).isoformat(), "sort": "created_at"}

    _pages(client, key, "exams_500_first_page", lambda i: {"limit": 500}, ns.runs)
    _pages(client, key, "exams_500_newest", lambda i: {"limit": 500, "sort": "-created_at"}, ns.runs)
    _pages(client, key, "exams_500_one_day", one_day, ns.runs)
    _pages(client, key, "exams_500_status_modality", lambda i: {
        "limit": 500, "status": "completed", "modality": "CT", "sort": "-created_at"}, ns.runs)
    _pages(client, key, "exams_500_csv", lambda i: {"limit": 500, "format": "csv", "sort": "-created_at"}, ns.runs)
    _walk(client, key, ns.runs)
    # One day of changes, ending now (the seed writes history up to the moment it ran).
    since = newest - timedelta(days=1)
    for dataset in ("exams", "reports", "queue_tickets", "critical_values"):
        _sync_day(client, key, dataset, since)


if __name__ == "__main__":
    main()
