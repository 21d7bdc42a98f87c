"""Incremental sync (LC-1): changed rows since a moment, in change order, with tombstones; a mirror kept
by applying each sync ends equal to a full read."""

from __future__ import annotations

from datetime import timedelta

from backend.domain.exam_flow import Trigger
from backend.services import timeline
from backend.services.data_api import read
from backend.services.orders import registration
from tests.data_api_helpers import key_actor, settle
from tests.helpers import register
from tests.reporting_helpers import approved


def before(clock):
    """A moment just before now (a sync's window starts after its `updated_since`)."""
    return (clock() - timedelta(seconds=1)).isoformat()


def sync(svc, key, dataset, since, limit=100, **args):
    """Every page of one sync: (items, tombstones, next_updated_since)."""
    items, tombs, cursor = [], [], None
    for _ in range(100):
        q = {"updated_since": [since], "limit": [str(limit)], **{k: [v] for k, v in args.items()}}
        if cursor:
            q["cursor"] = [cursor]
        page = read.read(svc, dataset, q, by=key)
        assert page.mode == "incremental"
        items += page.items
        tombs += page.tombstones
        cursor = page.next_cursor
        if cursor is None:
            return items, tombs, page.body()["next_updated_since"]
    raise AssertionError("sync did not end")


def test_a_sync_returns_what_changed_since_and_where_the_next_one_starts(svc, actors, clock):
    key = key_actor(svc, actors["admin"])
    start = before(clock)
    a, b, c = (register(svc, actors["clerk"])["exam_id"] for _ in range(3))
    settle(clock)
    items, tombs, nxt = sync(svc, key, "exams", start, limit=2)
    assert [i["id"] for i in items] == [a, b, c]
    assert tombs == []
    # Nothing changed since: an empty sync that keeps its place.
    settle(clock)
    again, _, nxt2 = sync(svc, key, "exams", nxt)
    assert again == []
    assert nxt2 > nxt
    # One exam moves on, one is cancelled: only those two come, the cancellation also as a tombstone.
    timeline.apply(svc, b, Trigger.CHECK_IN, by=actors["tech"])
    clock.advance(seconds=5)
    registration.cancel(svc, c, reason="患者取消", by=actors["clerk"])
    settle(clock)
    items, tombs, _ = sync(svc, key, "exams", nxt2)
    assert [(i["id"], i["status"]) for i in items] == [(b, "arrived"), (c, "cancelled")]
    assert tombs == [{"id": c, "reason": "cancelled", "at": items[1]["updated_at"]}]
    assert a not in [i["id"] for i in items]


def test_a_change_inside_the_lag_waits_for_the_next_sync(svc, actors, clock):
    """A timeline row carries its transaction's start: the window ends SYNC_LAG ago, never at "now"."""
    key = key_actor(svc, actors["admin"])
    start = before(clock)
    exam = register(svc, actors["clerk"])["exam_id"]
    clock.advance(seconds=5)
    items, _, nxt = sync(svc, key, "exams", start)
    assert items == []
    settle(clock)
    items, _, _ = sync(svc, key, "exams", nxt)
    assert [i["id"] for i in items] == [exam]


def test_a_mirror_kept_by_syncs_equals_a_full_read(svc, actors, clock):
    key = key_actor(svc, actors["admin"])
    mirror: dict[int, dict] = {}
    page = read.read(svc, "exams", {"limit": ["1000"]}, by=key)
    mirror.update({i["id"]: i for i in page.items})
    since = page.body()["next_updated_since"]
    ids = [register(svc, actors["clerk"])["exam_id"] for _ in range(4)]
    approved(svc, actors)
    settle(clock)
    for step in range(3):
        timeline.apply(svc, ids[step], Trigger.CHECK_IN, by=actors["tech"])
        if step == 1:
            registration.cancel(svc, ids[3], reason="重复开单", by=actors["clerk"])
        settle(clock)
        items, tombs, since = sync(svc, key, "exams", since, limit=2)
        mirror.update({i["id"]: i for i in items})
        for t in tombs:
            assert mirror[t["id"]]["status"] == "cancelled"
    full = {i["id"]: i for i in read.read(svc, "exams", {"limit": ["1000"]}, by=key).items}
    assert mirror == full


def test_filters_apply_to_a_sync_too(svc, actors, clock):
    key = key_actor(svc, actors["admin"])
    start = before(clock)
    register(svc, actors["clerk"])
    er = register(svc, actors["clerk"], patient_class="emergency")["exam_id"]
    settle(clock)
    items, _, _ = sync(svc, key, "exams", start, patient_class="emergency")
    assert [i["id"] for i in items] == [er]


def test_reports_sync_on_approval_and_amendment_only(svc, actors, clock):
    from backend.services.reporting import reports as reporting

    key = key_actor(svc, actors["admin"])
    start = before(clock)
    exam = approved(svc, actors)["exam_id"]
    settle(clock)
    items, _, nxt = sync(svc, key, "reports", start)
    assert [(i["exam_id"], i["status"], i["version"]) for i in items] == [(exam, "approved", 1)]
    reporting.amend(svc, exam, reason="补充描述", by=actors["doctor"])
    settle(clock)
    items, _, nxt = sync(svc, key, "reports", nxt)
    # While the new version is written, the platform keeps the approved text (version 1).
    assert [(i["status"], i["version"]) for i in items] == [("amended", 1)]
    settle(clock)
    assert sync(svc, key, "reports", nxt)[0] == []
