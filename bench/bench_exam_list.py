"""Latency of the exam list (backend.services.exam_list.search) on a hospital-scale database: p50/p95/p99.

Seed first with bench_seed.py (same --database-url), then:
    .venv/bin/python bench/bench_exam_list.py [--database-url URL] [--runs 60]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from _common import default_url, emit, normalize, percentile


def _samples(url: str, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Real MRNs, accessions and name prefixes picked at random from the database."""
    from sqlalchemy import create_engine, func, select

    from backend.db.models import Exam, Patient

    engine = create_engine(url)
    out: dict[str, list[str]] = {"mrn": [], "accession": [], "name2": [], "name1": []}
    with engine.connect() as conn:
        max_exam = conn.scalar(select(func.max(Exam.id))) or 1
        max_patient = conn.scalar(select(func.max(Patient.id))) or 1
        for _ in range(n):
            acc = conn.scalar(select(Exam.accession).where(Exam.id >= rng.randrange(1, max_exam + 1)).limit(1))
            mrn, name = conn.execute(select(Patient.mrn, Patient.name)
                                     .where(Patient.id >= rng.randrange(1, max_patient + 1)).limit(1)).one()
            out["accession"].append(acc)
            out["mrn"].append(mrn)
            out["name2"].append(name[:2])
            out["name1"].append(name[:1])
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=None, help="default: the SQLite file bench_seed.py writes")
    ap.add_argument("--runs", type=int, default=60)
    ns = ap.parse_args()
    url = normalize(ns.database_url or default_url("seed_hospital.db"))

    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.domain.exam_query import ExamFilter
    from backend.seed import DEMO_LOGINS
    from backend.services import auth
    from backend.services.orders import exam_list

    upgrade(url)  # the indexes of later migrations (0003_indexes) on a database seeded before them
    svc = build_services(Settings(database_url=url))
    clerk = auth.login(svc, "clerk", {u: p for u, p, _ in DEMO_LOGINS}["clerk"])
    rng = random.Random(1)
    s = _samples(url, ns.runs, rng)
    today = datetime.now(UTC).astimezone(svc.tz).date()
    month = today.replace(day=1)
    cursor = exam_list.search(svc, ExamFilter(date_from=today - timedelta(days=6), date_to=today), by=clerk,
                              limit=50)["next_cursor"]
    cases = {
        "today": lambda i: ExamFilter(date_from=today, date_to=today),
        "modality_ct_this_month": lambda i: ExamFilter(date_from=month, date_to=today, modalities=("CT",)),
        "modality_mg_this_month": lambda i: ExamFilter(date_from=month, date_to=today, modalities=("MG",)),
        "status_arrived": lambda i: ExamFilter(statuses=("arrived",)),
        "status_completed": lambda i: ExamFilter(statuses=("completed",)),
        "report_submitted": lambda i: ExamFilter(report_statuses=("submitted",)),
        "patient_mrn": lambda i: ExamFilter(mrn=s["mrn"][i]),
        "patient_name_prefix_2": lambda i: ExamFilter(patient_name=s["name2"][i]),
        "patient_name_prefix_1": lambda i: ExamFilter(patient_name=s["name1"][i]),
        "accession": lambda i: ExamFilter(accession=s["accession"][i]),
        "one_box_q_mrn": lambda i: ExamFilter(q=s["mrn"][i]),
    }
    for name, make in cases.items():
        _measure(name, lambda i, make=make: exam_list.search(svc, make(i), by=clerk, limit=50), ns.runs, url)
    week = ExamFilter(date_from=today - timedelta(days=6), date_to=today)
    _measure("page_2_keyset_last_7_days",
             lambda i: exam_list.search(svc, week, by=clerk, limit=50, cursor=cursor), ns.runs, url)


def _measure(name: str, fn, runs: int, url: str) -> None:
    for i in range(3):
        fn(i)
    times, rows = [], 0
    for i in range(runs):
        t0 = time.perf_counter()
        page = fn(i)
        times.append((time.perf_counter() - t0) * 1000)
        rows += len(page["items"])
    emit("exam_list", database=url.split("://", 1)[0], filter=name, runs=runs,
         p50_ms=round(percentile(times, 50), 1), p95_ms=round(percentile(times, 95), 1),
         p99_ms=round(percentile(times, 99), 1), avg_rows=round(rows / runs, 1))


if __name__ == "__main__":
    main()
