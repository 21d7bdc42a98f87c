"""Cancelling or discontinuing a queued exam closes its ticket, so no room is left calling it."""

from __future__ import annotations

import pytest

from backend.domain.errors import InvalidTransition
from backend.domain.exam_flow import Trigger
from backend.services import timeline
from backend.services.orders import registration
from backend.services.patient_flow import calling
from tests.services.test_calling import checked_in, room_id


def test_cancel_after_check_in_closes_the_ticket_and_frees_the_room(svc, actors, clock):
    ct1 = room_id(svc, "CT1")
    _, exam, ticket = checked_in(svc, actors, clock)
    _, _, next_ticket = checked_in(svc, actors, clock)
    registration.cancel(svc, exam["exam_id"], reason="患者离院", by=actors["clerk"])
    waiting = [t["code"] for t in calling.room_state(svc, ct1, by=actors["tech"])["waiting"]]
    assert ticket["code"] not in waiting
    assert calling.call_next(svc, ct1, by=actors["tech"])["code"] == next_ticket["code"]
    kinds = [e["kind"] for e in timeline.events_of(svc, exam["exam_id"])]
    assert kinds[-2:] == ["cancelled", "ticket_cancelled"]


def test_undo_check_in_closes_a_called_ticket(svc, actors, clock):
    ct1 = room_id(svc, "CT1")
    _, exam, _ticket = checked_in(svc, actors, clock)
    calling.call_next(svc, ct1, by=actors["tech"])
    timeline.apply(svc, exam["exam_id"], Trigger.UNDO_CHECK_IN, by=actors["nurse"])
    state = calling.room_state(svc, ct1, by=actors["tech"])
    assert exam["exam_id"] not in {t.get("exam_id") for t in [state.get("current") or {}, *state["waiting"]]}
    with pytest.raises(InvalidTransition):
        timeline.apply(svc, exam["exam_id"], Trigger.UNDO_CHECK_IN, by=actors["nurse"])
