"""The outbox on a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL): idempotent enqueue, leases
and their take-over, back-off times, dead letter, release and extension, the ledger and the drain helper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db.models import AuditEntry, Outbox
from backend.domain.errors import Forbidden, InvalidTransition, NotFound
from backend.domain.outbox import GiveUp, OutboxState, RetryPolicy
from backend.services import outbox
from backend.services.base import transaction

KIND = "cloud_test"
LEASE = timedelta(minutes=5)
QUICK = RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=1), factor=2, max_delay=timedelta(minutes=3))


def put(svc, key: str, kind: str = KIND, **payload) -> int:
    with transaction(svc) as tx:
        row_id, _created = outbox.enqueue(tx, kind=kind, target="cloud", key=key, payload=payload or {"n": key})
    return row_id


def row(svc, row_id: int) -> Outbox:
    with transaction(svc, readonly=True) as tx:
        found = tx.session.get(Outbox, row_id)
        assert found is not None
        tx.session.expunge(found)
        return found


def test_same_key_twice_is_one_row_and_the_first_payload_stays(svc):
    with transaction(svc) as tx:
        first = outbox.enqueue(tx, kind=KIND, target="cloud", key="k-1", payload={"v": 1})
        again = outbox.enqueue(tx, kind=KIND, target="cloud", key="k-1", payload={"v": 2})
    with transaction(svc) as tx:
        later = outbox.enqueue(tx, kind=KIND, target="cloud", key="k-1", payload={"v": 3})
        n = tx.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.key == "k-1"))
    assert first[1] is True
    assert again == later == (first[0], False)
    assert n == 1
    assert row(svc, first[0]).payload == {"v": 1}


def test_enqueue_rolls_back_with_the_change_that_caused_it(svc):
    def change_that_fails() -> None:
        with transaction(svc) as tx:
            outbox.enqueue(tx, kind=KIND, target="cloud", key="k-lost", payload={})
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Outbox).where(Outbox.key == "k-lost")).first() is None


def test_claim_leases_due_rows_oldest_first_and_only_of_its_kind(svc, clock):
    a = put(svc, "a")
    clock.advance(seconds=1)
    b = put(svc, "b")
    clock.advance(seconds=1)
    c = put(svc, "c")
    put(svc, "other", kind="cadre_test")
    first = outbox.claim(svc, kind=KIND, owner="w1", lease=LEASE, limit=2)
    assert [i.id for i in first] == [a, b]
    assert {(i.attempts, i.lease_until) for i in first} == {(1, clock() + LEASE)}
    assert first[0].payload == {"n": "a"}
    assert [i.id for i in outbox.claim(svc, kind=KIND, owner="w2", lease=LEASE)] == [c]
    assert outbox.claim(svc, kind=KIND, owner="w3", lease=LEASE) == []
    r = row(svc, a)
    assert (r.state, r.lease_owner) == ("leased", "w1")


def test_expired_lease_is_taken_over_and_the_first_worker_cannot_finish(svc, clock):
    a = put(svc, "a")
    outbox.claim(svc, kind=KIND, owner="w1", lease=LEASE)
    clock.advance(minutes=4)
    assert outbox.claim(svc, kind=KIND, owner="w2", lease=LEASE) == []  # still leased to w1
    clock.advance(minutes=2)
    [taken] = outbox.claim(svc, kind=KIND, owner="w2", lease=LEASE)
    assert (taken.id, taken.attempts) == (a, 2)
    assert outbox.complete(svc, a, owner="w1") is False
    assert outbox.fail(svc, a, owner="w1", error="late") is None
    assert outbox.complete(svc, a, owner="w2", remote_ids={"study": "S-9"}) is True
    r = row(svc, a)
    assert (r.state, r.remote_ids, r.lease_owner, r.lease_until) == ("done", {"study": "S-9"}, None, None)


def test_back_off_doubles_up_to_the_cap(svc, clock):
    policy = RetryPolicy(max_attempts=6, first_delay=timedelta(minutes=1), factor=2, max_delay=timedelta(minutes=5))
    a = put(svc, "a")
    waits = []
    for _ in range(5):
        [item] = outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=policy)
        assert outbox.fail(svc, item.id, owner="w", error="503 from the cloud", policy=policy) is OutboxState.PENDING
        due = row(svc, a).next_try_at
        waits.append(due - clock())
        clock.set(due - timedelta(seconds=1))
        assert outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=policy) == []  # not yet due
        clock.set(due)
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 5, 5)]
    assert row(svc, a).last_error == "503 from the cloud"


def test_dead_after_n_attempts_then_listed_and_retried_by_an_admin(svc, clock, actors):
    a = put(svc, "a")
    states = []
    for _ in range(3):
        [item] = outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=QUICK)
        states.append(outbox.fail(svc, item.id, owner="w", error=f"try {item.attempts}", policy=QUICK))
        clock.advance(hours=1)
    assert states == [OutboxState.PENDING, OutboxState.PENDING, OutboxState.DEAD]
    clock.advance(days=30)
    assert outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=QUICK) == []
    [listed] = outbox.list_items(svc, by=actors["admin"], kind=KIND, state=OutboxState.DEAD)
    assert (listed["id"], listed["attempts"], listed["last_error"]) == (a, 3, "try 3")
    assert listed["state_label"] == "发送失败（已停止重试）"
    assert outbox.counts(svc, by=actors["admin"], kind=KIND) == {"pending": 0, "leased": 0, "done": 0, "dead": 1}
    with pytest.raises(Forbidden):
        outbox.retry(svc, a, by=actors["nurse"])
    assert outbox.retry(svc, a, by=actors["admin"])["state"] == "pending"
    [again] = outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=QUICK)
    assert (again.id, again.attempts) == (a, 1)
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "outbox",
                                                                  AuditEntry.entity_id == str(a))).all() == [
            "outbox.retry"]


def test_only_a_dead_row_may_be_retried(svc, actors):
    a = put(svc, "a")
    with pytest.raises(InvalidTransition):
        outbox.retry(svc, a, by=actors["admin"])
    with pytest.raises(NotFound):
        outbox.retry(svc, 10**9, by=actors["admin"])


def test_a_lease_that_expires_on_the_last_attempt_makes_the_row_dead(svc, clock):
    a = put(svc, "a")
    for _ in range(3):  # the worker dies every time: three attempts, no outcome recorded
        assert [i.id for i in outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=QUICK)] == [a]
        clock.advance(minutes=6)
    assert outbox.claim(svc, kind=KIND, owner="w", lease=LEASE, policy=QUICK) == []
    r = row(svc, a)
    assert (r.state, r.attempts, r.last_error) == ("dead", 3, outbox.LEASE_LOST)


def test_release_gives_the_row_back_untried_and_extend_keeps_it(svc, clock):
    a = put(svc, "a")
    outbox.claim(svc, kind=KIND, owner="w1", lease=LEASE)
    clock.advance(minutes=4)
    assert outbox.extend(svc, a, owner="w2", lease=LEASE) is False
    assert outbox.extend(svc, a, owner="w1", lease=LEASE) is True
    clock.advance(minutes=4)  # 8 minutes after the claim, 4 after the extension: still w1's
    assert outbox.claim(svc, kind=KIND, owner="w2", lease=LEASE) == []
    assert outbox.release(svc, a, owner="w1") is True
    [item] = outbox.claim(svc, kind=KIND, owner="w2", lease=LEASE)
    assert (item.id, item.attempts) == (a, 1)


def test_give_up_is_dead_at_once(svc):
    a = put(svc, "a")
    outbox.claim(svc, kind=KIND, owner="w", lease=LEASE)
    assert outbox.give_up(svc, a, owner="w", error="400 字段不合法") is True
    assert (row(svc, a).state, row(svc, a).attempts) == ("dead", 1)


def test_drain_sends_retries_and_buries(svc):
    ok, flaky, refused = put(svc, "ok"), put(svc, "flaky"), put(svc, "refused")
    seen = []

    def handler(item):
        seen.append((item.key, item.attempts))
        if item.key == "flaky":
            raise ConnectionError("cloud unreachable")
        if item.key == "refused":
            raise GiveUp("影像已存在且内容不同")
        return {"remote": f"R-{item.id}"}

    report = outbox.drain(svc, KIND, handler, "job-1", policy=QUICK)
    assert (report.done, report.retried, report.dead, report.lost) == ([ok], [flaky], [refused], [])
    assert seen == [("ok", 1), ("flaky", 1), ("refused", 1)]
    assert row(svc, ok).remote_ids == {"remote": f"R-{ok}"}
    assert row(svc, flaky).last_error == "ConnectionError: cloud unreachable"
    assert row(svc, refused).last_error == "影像已存在且内容不同"
    assert outbox.drain(svc, KIND, handler, "job-1", policy=QUICK).handled == 0  # flaky is not due yet


def test_drain_is_bounded(svc):
    ids = [put(svc, f"k{n:02d}") for n in range(25)]
    report = outbox.drain(svc, KIND, lambda item: None, "job", batch=4, max_items=10)
    assert report.done == ids[:10]
    assert outbox.drain(svc, KIND, lambda item: None, "job", batch=50, max_items=100).done == ids[10:]
