"""Registration (登记): slots, duplicates, patients, cancel, edit, timeline and events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db.models import ExamEvent, Slot
from backend.domain.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from backend.domain.exam_flow import Trigger
from backend.seed.reference import LUNG_NODULE_ITEM
from backend.services import timeline
from backend.services.base import transaction
from backend.services.orders import registration
from tests.helpers import first_slot, register


def test_register_without_slot_goes_to_registered(svc, actors, notifier):
    out = register(svc, actors["clerk"], "DR-CHEST")
    assert out["status"] == "registered"
    assert out["accession"].startswith("RA20261127")
    kinds = [e["kind"] for e in timeline.events_of(svc, out["exam_id"])]
    assert kinds == ["ordered", "registered"]
    assert "exam_registered" in notifier.names()


def test_lung_nodule_item_registers_without_slot(svc, actors):
    """LN-1, LN-2: the target-reconstruction item needs no slot and refuses one."""
    out = register(svc, actors["clerk"], LUNG_NODULE_ITEM)
    assert out["status"] == "registered"
    slot = first_slot(svc, actors["clerk"], "CT-CHEST")
    with pytest.raises(InvalidInput) as exc:
        register(svc, actors["clerk"], LUNG_NODULE_ITEM, slot_id=slot["id"])
    assert exc.value.code == "slot_not_needed"
    assert registration.available_slots(svc, LUNG_NODULE_ITEM, svc.clock().date(), by=actors["clerk"]) == []


def test_register_with_slot_books_it_and_records_appointment(svc, actors):
    slot = first_slot(svc, actors["clerk"], "CT-CHEST")
    out = register(svc, actors["clerk"], "CT-CHEST", slot_id=slot["id"])
    kinds = [e["kind"] for e in timeline.events_of(svc, out["exam_id"])]
    assert kinds == ["ordered", "scheduled", "registered"]
    after = {s["id"]: s for s in registration.available_slots(svc, "CT-CHEST", svc.clock().date(), by=actors["clerk"])}
    assert after[slot["id"]]["booked"] == slot["booked"] + 1


def test_slot_item_requires_slot_except_emergency(svc, actors):
    with pytest.raises(InvalidInput) as exc:
        register(svc, actors["clerk"], "CT-CHEST")
    assert exc.value.code == "slot_required"
    assert register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")["status"] == "registered"


def test_full_slot_is_refused_and_nothing_is_written(svc, actors):
    slot = first_slot(svc, actors["clerk"], "MR-BRAIN")
    for _ in range(slot["remaining"]):
        register(svc, actors["clerk"], "MR-BRAIN", slot_id=slot["id"])
    with transaction(svc, readonly=True) as tx:
        events_before = len(tx.session.scalars(select(ExamEvent.id)).all())
    with pytest.raises(Conflict) as exc:
        register(svc, actors["clerk"], "MR-BRAIN", slot_id=slot["id"], mrn="FULL0001")
    assert exc.value.code == "slot_full"
    with transaction(svc, readonly=True) as tx:
        assert len(tx.session.scalars(select(ExamEvent.id)).all()) == events_before
        s = tx.session.get(Slot, slot["id"])
        assert s.booked == s.capacity


def test_slot_of_another_queue_and_past_slot_are_refused(svc, actors, clock):
    mr = first_slot(svc, actors["clerk"], "MR-BRAIN")
    with pytest.raises(InvalidInput) as exc:
        register(svc, actors["clerk"], "CT-CHEST", slot_id=mr["id"])
    assert exc.value.code == "slot_wrong_queue"
    ct = first_slot(svc, actors["clerk"], "CT-CHEST")
    clock.advance(days=1)
    with pytest.raises(InvalidInput) as exc:
        register(svc, actors["clerk"], "CT-CHEST", slot_id=ct["id"])
    assert exc.value.code == "slot_past"


def test_duplicate_order_is_refused(svc, actors):
    register(svc, actors["clerk"], "DR-CHEST", source_system="his", source_order_no="ORD-1")
    with pytest.raises(Conflict) as exc:
        register(svc, actors["clerk"], "DR-CHEST", source_system="his", source_order_no="ORD-1")
    assert exc.value.code == "duplicate_order"


def test_unknown_item_and_wrong_role(svc, actors):
    with pytest.raises(NotFound) as exc:
        register(svc, actors["clerk"], "NO-SUCH")
    assert exc.value.code == "unknown_exam_item"
    with pytest.raises(Forbidden):
        register(svc, actors["doctor"], "DR-CHEST")


def test_patient_is_matched_by_mrn_and_mismatch_refused(svc, actors):
    a = register(svc, actors["clerk"], "DR-CHEST", mrn="P0001", name="王五")
    b = register(svc, actors["clerk"], "US-ABD", mrn="P0001", name="王五")
    assert a["exam_id"] != b["exam_id"]
    with pytest.raises(Conflict) as exc:
        register(svc, actors["clerk"], "US-ABD", mrn="P0001", name="赵六")
    assert exc.value.code == "patient_mismatch"


def test_cancel_releases_slot_and_refuses_twice(svc, actors):
    slot = first_slot(svc, actors["clerk"], "CT-CHEST")
    out = register(svc, actors["clerk"], "CT-CHEST", slot_id=slot["id"])
    with pytest.raises(InvalidInput):
        registration.cancel(svc, out["exam_id"], reason=" ", by=actors["clerk"])
    assert registration.cancel(svc, out["exam_id"], reason="患者要求", by=actors["clerk"])["status"] == "cancelled"
    now = {s["id"]: s for s in registration.available_slots(svc, "CT-CHEST", svc.clock().date(), by=actors["clerk"])}
    assert now[slot["id"]]["booked"] == slot["booked"]
    with pytest.raises(InvalidTransition) as exc:
        registration.cancel(svc, out["exam_id"], reason="again", by=actors["clerk"])
    assert "已取消" in exc.value.message


def test_edit_moves_slot_and_checks_version(svc, actors):
    day = svc.clock().date()
    slots = [s for s in registration.available_slots(svc, "CT-CHEST", day, by=actors["clerk"]) if not s["past"]]
    out = register(svc, actors["clerk"], "CT-CHEST", slot_id=slots[0]["id"])
    res = registration.edit(svc, out["exam_id"], changes={"slot_id": slots[1]["id"], "priority": "urgent"},
                            by=actors["clerk"])
    assert res["version"] > 1
    after = {s["id"]: s for s in registration.available_slots(svc, "CT-CHEST", day, by=actors["clerk"])}
    assert after[slots[0]["id"]]["booked"] == slots[0]["booked"]
    assert after[slots[1]["id"]]["booked"] == slots[1]["booked"] + 1
    with pytest.raises(Conflict) as exc:
        registration.edit(svc, out["exam_id"], changes={"priority": "stat"}, by=actors["clerk"], expected_version=1)
    assert exc.value.code == "stale_edit"
    with pytest.raises(InvalidInput):
        registration.edit(svc, out["exam_id"], changes={"accession": "X"}, by=actors["clerk"])


def test_edit_refused_after_check_in(svc, actors):
    out = register(svc, actors["clerk"], "DR-CHEST")
    timeline.apply(svc, out["exam_id"], Trigger.CHECK_IN, by=actors["nurse"])
    with pytest.raises(Conflict) as exc:
        registration.edit(svc, out["exam_id"], changes={"priority": "stat"}, by=actors["clerk"])
    assert exc.value.code == "not_editable"


def test_illegal_transition_changes_nothing(svc, actors):
    out = register(svc, actors["clerk"], "DR-CHEST")
    with pytest.raises(InvalidTransition) as exc:
        timeline.apply(svc, out["exam_id"], Trigger.COMPLETE, by=actors["tech"])
    assert "已登记" in exc.value.message
    assert [e["kind"] for e in timeline.events_of(svc, out["exam_id"])] == ["ordered", "registered"]


def test_full_procedure_walk_writes_the_timeline(svc, actors, clock):
    out = register(svc, actors["clerk"], "DR-CHEST")
    for trig in (Trigger.CHECK_IN, Trigger.START, Trigger.COMPLETE):
        clock.advance(minutes=5)
        timeline.apply(svc, out["exam_id"], trig, by=actors["tech"])
    events = timeline.events_of(svc, out["exam_id"])
    assert [e["kind"] for e in events] == ["ordered", "registered", "checked_in", "started", "completed"]
    assert events[-1]["actor"] == actors["tech"].label
