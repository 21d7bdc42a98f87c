"""Two (and more) outbox workers at once, each thread with its own sessions on a committed database:
no row is ever leased to two of them, every row is sent exactly once, and the same key enqueued by two
transactions at the same moment is one row with neither transaction failing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import Outbox
from backend.services import outbox
from backend.services.base import transaction
from tests.conftest import FIXED_NOW, FakeClock, fresh_database
from tests.fakes import fake_ports

KIND = "cloud_race"


@pytest.fixture(scope="module")
def shared_db_url(db_url, tmp_path_factory):
    """One committed database for the module (preparing one takes seconds); each test uses its own keys."""
    with fresh_database(db_url, tmp_path_factory.mktemp("outbox")) as url:
        yield url


def services(url: str):
    return build_services(Settings(database_url=url), clock=FakeClock(FIXED_NOW), ports=fake_ports())


def run_threads(n: int, target) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapped(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker did not finish"
    return errors


def test_two_workers_never_lease_the_same_row(shared_db_url):
    svc = services(shared_db_url)
    with transaction(svc) as tx:
        ids = [outbox.enqueue(tx, kind=KIND, target="cloud", key=f"race-{n}", payload={"n": n})[0]
               for n in range(120)]
    leased: list[list[int]] = [[], []]

    def worker(i: int) -> None:
        for _round in range(200):  # bounded: 120 rows in batches of 3 need at most 40 claims each
            items = outbox.claim(svc, kind=KIND, owner=f"w{i}", lease=timedelta(minutes=5), limit=3)
            if not items:
                return
            leased[i].extend(item.id for item in items)
            for item in items:
                assert outbox.complete(svc, item.id, owner=f"w{i}")

    assert run_threads(2, worker) == []
    assert not set(leased[0]) & set(leased[1])
    assert sorted(leased[0] + leased[1]) == ids
    assert leased[0], "both workers should have had a share"
    assert leased[1], "both workers should have had a share"
    with transaction(svc, readonly=True) as tx:
        assert set(tx.session.scalars(select(Outbox.state).where(Outbox.id.in_(ids)))) == {"done"}
    svc.session_factory.kw["bind"].dispose()


def test_four_drains_send_every_row_exactly_once(shared_db_url):
    svc = services(shared_db_url)
    with transaction(svc) as tx:
        for n in range(60):
            outbox.enqueue(tx, kind="cloud_drain", target="cloud", key=f"drain-{n}", payload={"n": n})
    sent: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(item: outbox.OutboxItem) -> dict[str, str]:
        with lock:
            sent[item.id] += 1
        time.sleep(0.002)  # a partner call: let the other workers claim meanwhile
        return {"remote": str(item.payload["n"])}

    def worker(i: int) -> None:
        outbox.drain(svc, "cloud_drain", handler, f"job-{i}", batch=2, max_items=60)

    assert run_threads(4, worker) == []
    assert len(sent) == 60
    assert set(sent.values()) == {1}
    svc.session_factory.kw["bind"].dispose()


def test_same_key_from_two_transactions_at_once_is_one_row(shared_db_url):
    svc = services(shared_db_url)
    results: list[tuple[int, bool]] = []

    def worker(i: int) -> None:
        with transaction(svc) as tx:
            results.append(outbox.enqueue(tx, kind=KIND, target="cloud", key="same-study", payload={"by": i}))

    assert run_threads(2, worker) == []
    assert sorted(created for _id, created in results) == [False, True]
    assert len({row_id for row_id, _ in results}) == 1
    with transaction(svc, readonly=True) as tx:
        assert len(tx.session.scalars(select(Outbox).where(Outbox.key == "same-study")).all()) == 1
    svc.session_factory.kw["bind"].dispose()
