"""The room desk: order of calling, call again, missed, re-check-in to the same room, start, finish, transfer."""

from __future__ import annotations

import pytest

from backend.db.models import Room
from backend.domain.errors import Conflict, NotFound
from backend.services import settings_store
from backend.services.base import transaction
from backend.services.patient_flow import calling, checkin, kiosks
from tests.services.kiosk_helpers import exam_for, new_patient


def room_id(svc, code):
    with transaction(svc, readonly=True) as tx:
        from sqlalchemy import select
        return tx.session.scalars(select(Room.id).where(Room.code == code)).one()


def checked_in(svc, actors, clock=None, **kw):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p, **kw)
    r = checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosks.kiosk_actor(svc, "K1"))["results"][0]
    assert r["ok"], r
    if clock is not None:
        clock.advance(minutes=1)
    return p, e, r["ticket"]


def test_call_order_priority_then_appointment_then_check_in(svc, actors, clock):
    ct1 = room_id(svc, "CT1")
    _, _, later_slot = checked_in(svc, actors, clock, hour=10)
    _, _, first_routine = checked_in(svc, actors, clock)
    _, _, second_routine = checked_in(svc, actors, clock)
    _, _, stat = checked_in(svc, actors, clock, priority="stat")
    order = [t["code"] for t in calling.room_state(svc, ct1, by=actors["tech"])["waiting"]]
    assert order == [stat["code"], first_routine["code"], second_routine["code"], later_slot["code"]]
    called = calling.call_next(svc, ct1, by=actors["tech"])
    assert called["code"] == stat["code"]
    assert called["room_id"] == ct1


def test_call_again_missed_and_requeue_after_n_in_the_first_room(svc, actors, clock, notifier):
    ct1, ct2 = room_id(svc, "CT1"), room_id(svc, "CT2")
    p, _, t = checked_in(svc, actors, clock)
    others = [checked_in(svc, actors, clock)[2] for _ in range(3)]
    calling.call_next(svc, ct1, by=actors["tech"])
    again = calling.recall(svc, t["ticket_id"], by=actors["tech"])
    assert again["call_count"] == 2
    missed = calling.mark_missed(svc, t["ticket_id"], by=actors["tech"])
    assert missed["status"] == "missed"
    assert [m["code"] for m in calling.room_state(svc, ct1, by=actors["tech"])["missed"]] == [t["code"]]
    calling.call_next(svc, ct2, by=actors["tech"])  # CT2 takes others[0]
    back = checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosks.kiosk_actor(svc, "K1"))["results"][0]
    assert back["ok"]
    assert back["requeued"]
    assert back["ticket"]["room_id"] == ct1
    waiting = [w["code"] for w in calling.room_state(svc, ct1, by=actors["tech"])["waiting"]]
    assert waiting == [others[1]["code"], others[2]["code"], t["code"]]  # after N=2 waiting
    assert "ticket_requeued" in notifier.names()


def test_requeue_at_the_end_by_setting(svc, actors, clock):
    ct1 = room_id(svc, "CT1")
    settings_store.put(svc, "queue.requeue_rule", "end", by=actors["admin"])
    p, _, t = checked_in(svc, actors, clock)
    others = [checked_in(svc, actors, clock)[2] for _ in range(4)]
    calling.call_next(svc, ct1, by=actors["tech"])
    calling.mark_missed(svc, t["ticket_id"], by=actors["tech"])
    checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])  # the nurse desk re-checks in
    waiting = [w["code"] for w in calling.room_state(svc, ct1, by=actors["tech"])["waiting"]]
    assert waiting == [o["code"] for o in others] + [t["code"]]


def test_start_finish_and_room_busy(svc, actors, clock, notifier):
    ct1 = room_id(svc, "CT1")
    _, _e, t = checked_in(svc, actors, clock)
    checked_in(svc, actors, clock)
    calling.call_next(svc, ct1, by=actors["tech"])
    with pytest.raises(Conflict) as busy:
        calling.call_next(svc, ct1, by=actors["tech"])
    assert busy.value.code == "room_busy"
    calling.start_exam(svc, t["ticket_id"], by=actors["tech"])
    with pytest.raises(Conflict):
        calling.mark_missed(svc, t["ticket_id"], by=actors["tech"])
    done = calling.finish_exam(svc, t["ticket_id"], by=actors["tech"])
    assert done["status"] == "done"
    assert calling.room_state(svc, ct1, by=actors["tech"])["current"] is None
    assert {"ticket_called", "ticket_done"} <= set(notifier.names())
    nxt = calling.call_next(svc, ct1, by=actors["tech"])
    assert nxt["code"] != t["code"]


def test_transfer_keeps_place_in_another_room(svc, actors, clock):
    ct1, ct3, mr1 = room_id(svc, "CT1"), room_id(svc, "CT3"), room_id(svc, "MR1")
    _, _, t = checked_in(svc, actors, clock)
    calling.call_next(svc, ct1, by=actors["tech"])
    with pytest.raises(Conflict):
        calling.transfer(svc, t["ticket_id"], mr1, by=actors["tech"])
    moved = calling.transfer(svc, t["ticket_id"], ct3, by=actors["tech"])
    assert moved["room_id"] == ct3
    assert moved["status"] == "waiting"
    assert [w["code"] for w in calling.room_state(svc, ct3, by=actors["tech"])["waiting"]] == [t["code"]]
    assert calling.room_state(svc, ct1, by=actors["tech"])["current"] is None


def test_empty_queue_and_permissions(svc, actors):
    with pytest.raises(NotFound) as empty:
        calling.call_next(svc, room_id(svc, "MG1"), by=actors["tech"])
    assert empty.value.code == "queue_empty"
    with pytest.raises(Exception, match="权限"):
        calling.call_next(svc, room_id(svc, "MG1"), by=actors["doctor"])
