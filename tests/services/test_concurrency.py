"""Slot capacity is never exceeded by concurrent registrations on separate connections."""

from __future__ import annotations

import threading

from backend.bootstrap import build_services
from backend.config import Settings
from backend.domain.errors import Conflict
from backend.services import auth
from backend.services.orders import registration
from tests.conftest import FIXED_NOW, PASSWORDS, FakeClock
from tests.helpers import first_slot, order


def test_concurrent_registrations_never_overbook(fresh_db_url):
    svc = build_services(Settings(database_url=fresh_db_url), clock=FakeClock(FIXED_NOW))
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    slot = first_slot(svc, clerk, "MR-BRAIN")
    capacity = slot["remaining"]
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            registration.register(svc, order("MR-BRAIN", mrn=f"C{i:05d}", slot_id=slot["id"]), by=clerk)
            outcome = "ok"
        except Conflict as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("ok") == capacity
    assert results.count("slot_full") == 12 - capacity
    after = {s["id"]: s for s in registration.available_slots(svc, "MR-BRAIN", slot_day(svc), by=clerk)}
    assert after[slot["id"]]["booked"] == after[slot["id"]]["capacity"]


def slot_day(svc):
    return svc.clock().astimezone(svc.tz).date()
