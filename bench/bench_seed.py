"""Seed the demo hospital's history into a fresh database and print how long it took and how big it is.

    .venv/bin/python bench/bench_seed.py --scale hospital
    .venv/bin/python bench/bench_seed.py --days 60 --database-url postgresql://postgres@127.0.0.1/radops_bench
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime

from _common import db_size_mb, default_url, emit, normalize


def _fresh(url: str) -> None:
    """Empty the target: delete the SQLite file, or drop and recreate PostgreSQL's public schema."""
    from pathlib import Path

    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=None, help="default: SQLite under var/bench/")
    ap.add_argument("--scale", choices=["demo", "hospital"], default="hospital")
    ap.add_argument("--days", type=int, default=None, help="fewer days for a quicker run")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--progress", action="store_true")
    ns = ap.parse_args()
    url = normalize(ns.database_url or default_url(f"seed_{ns.scale}.db"))

    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.seed.history import seed_history
    from backend.seed.reference import seed_reference

    _fresh(url)
    upgrade(url)
    settings = Settings(database_url=url)
    now = datetime.now(UTC)
    seed_reference(settings, seed=ns.seed, now=now)
    t0, self0, kids0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = seed_history(settings, scale=ns.scale, seed=ns.seed, days=ns.days, progress=ns.progress, now=now)
    elapsed = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds tell the cost when other work shares the machine (the wall time then says little).
    cpu_self = me.ru_utime + me.ru_stime - self0.ru_utime - self0.ru_stime
    cpu_child = kids.ru_utime + kids.ru_stime - kids0.ru_utime - kids0.ru_stime
    emit("seed", database=url.split("://", 1)[0], scale=ns.scale, days=summary["days"], seconds=round(elapsed, 1),
         cpu_loader_s=round(cpu_self, 1), cpu_generator_s=round(cpu_child, 1), load_avg=round(os.getloadavg()[0], 1),
         exams=summary["exams"], events=summary["events"], rows=summary["rows"],
         rows_per_s=round(summary["rows"] / elapsed), size_mb=db_size_mb(url))


if __name__ == "__main__":
    main()
