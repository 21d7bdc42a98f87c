"""Two radiologists saving the same report at once on separate connections: one wins, one gets stale_report."""

from __future__ import annotations

import threading

from backend.bootstrap import build_services
from backend.config import Settings
from backend.domain.errors import Conflict
from backend.services import auth
from backend.services.reporting import reports as reporting
from tests.conftest import FIXED_NOW, PASSWORDS, FakeClock
from tests.reporting_helpers import exam_at


def test_concurrent_saves_with_the_same_lock(fresh_db_url):
    svc = build_services(Settings(database_url=fresh_db_url), clock=FakeClock(FIXED_NOW))
    actors = {u: auth.login(svc, u, PASSWORDS[u]) for u in ("clerk", "tech", "doctor", "doctor2", "senior")}
    exam = exam_at(svc, actors, "completed")
    first = reporting.save_draft(svc, exam["exam_id"], sections={"findings": "初稿"}, by=actors["doctor"])
    lock = first["report"]["lock"]
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def worker(user: str) -> None:
        barrier.wait()
        try:
            reporting.save_draft(svc, exam["exam_id"], sections={"findings": f"{user} 的修改"}, by=actors[user],
                                 expected_lock=lock)
            results[user] = "ok"
        except Conflict as exc:
            results[user] = exc.code

    threads = [threading.Thread(target=worker, args=(u,)) for u in ("doctor", "doctor2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == ["ok", "stale_report"]
    winner = next(u for u, r in results.items() if r == "ok")
    assert reporting.get(svc, exam["exam_id"], by=actors["senior"])["sections"]["findings"] == f"{winner} 的修改"
