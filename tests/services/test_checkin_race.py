"""Two kiosks checking in the same exam at the same moment produce exactly one ticket."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import QueueTicket
from backend.services import auth
from backend.services.base import transaction
from backend.services.patient_flow import checkin, kiosks
from tests.conftest import FIXED_NOW, PASSWORDS, FakeClock
from tests.services.kiosk_helpers import exam_for, new_patient


def test_two_kiosks_same_exam_one_ticket(fresh_db_url):
    svc = build_services(Settings(database_url=fresh_db_url), clock=FakeClock(FIXED_NOW))
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    p = new_patient()
    e = exam_for(svc, clerk, p)
    terminals = ["K1", "K2"] * 4
    actors = [kiosks.kiosk_actor(svc, k) for k in terminals]
    barrier = threading.Barrier(len(terminals))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        r = checkin.check_in(svc, terminals[i], "barcode", e["accession"], by=actors[i])["results"][0]
        with lock:
            outcomes.append("ok" if r["ok"] else r["reason"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(terminals))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("ok") == 1
    assert outcomes.count("already_checked_in") == len(terminals) - 1
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalar(select(func.count()).select_from(QueueTicket)
                                 .where(QueueTicket.exam_id == e["exam_id"])) == 1
