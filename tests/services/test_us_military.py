"""Issue 15 item 7: 军人 (military personnel) go first in ultrasound triage when `us.priority_military` is on.

The flag is the patient's (`patients.military`, set at registration like 保健对象); the setting turns the class
on. It shows on the triage board and the room page as 军人, on the hall screen as a plain 优先.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import Patient
from backend.domain.errors import Conflict
from backend.domain.registration import OrderData, PatientData
from backend.services import settings_store
from backend.services.base import transaction
from backend.services.orders import patient_lookup, registration
from backend.services.patient_flow import calling, checkin, screens, triage_board
from tests.services.test_us_dispatch_rules import open_room, rooms_of
from tests.services.test_us_visit import _us_screen
from tests.us_helpers import check_in_us, room_id


def _soldier(svc: Any, actors: Any, mrn: str, item: str = "US-BREAST", military: bool = True) -> dict[str, Any]:
    p = PatientData(mrn=mrn, name="林军人", sex="M", birth_date=date(1990, 3, 1), military=military)
    registration.register(svc, OrderData(patient=p, item_code=item, slot_id=None), by=actors["clerk"])
    result: dict[str, Any] = checkin.check_in(svc, None, "mrn", mrn, by=actors["nurse"])["results"][0]
    return result


def _full_room(svc: Any, actors: Any, clock: Any) -> Any:
    doc = open_room(svc, actors, "US1")
    for _ in range(8):  # the shift's automatic cap
        clock.advance(seconds=5)
        check_in_us(svc, actors)
    return doc


def test_a_military_patient_goes_first_in_the_pool_when_the_setting_is_on(svc, actors, clock):
    settings_store.put(svc, "us.priority_pass_cap", False, by=actors["admin"])
    settings_store.put(svc, "us.priority_military", True, by=actors["admin"])
    _full_room(svc, actors, clock)
    clock.advance(seconds=5)
    routine = check_in_us(svc, actors)
    clock.advance(seconds=5)
    soldier = _soldier(svc, actors, "U9200001")
    assert soldier["ticket"]["room_id"] is None  # passing the cap is off: she waits in the pool
    pool = triage_board.board(svc, by=actors["nurse"])["pool"]
    assert [p["exam_id"] for p in pool] == [soldier["exam_id"], routine["exam_id"]]  # ahead of the earlier one
    assert pool[0]["flags"] == ["军人"]
    assert pool[1]["flags"] == []


def test_with_the_setting_off_a_military_patient_waits_in_turn_unflagged(svc, actors, clock):
    settings_store.put(svc, "us.priority_pass_cap", False, by=actors["admin"])
    _full_room(svc, actors, clock)
    clock.advance(seconds=5)
    routine = check_in_us(svc, actors)
    clock.advance(seconds=5)
    soldier = _soldier(svc, actors, "U9200002")
    pool = triage_board.board(svc, by=actors["nurse"])["pool"]
    assert [p["exam_id"] for p in pool] == [routine["exam_id"], soldier["exam_id"]]
    assert [p["flags"] for p in pool] == [[], []]


def test_a_military_patient_passes_the_cap_and_is_flagged_in_the_room_and_on_the_hall_screen(svc, actors, clock):
    settings_store.put(svc, "us.priority_military", True, by=actors["admin"])
    screen = _us_screen(svc)
    doc = _full_room(svc, actors, clock)
    clock.advance(seconds=5)
    routine = check_in_us(svc, actors)
    assert routine["ticket"]["room_id"] is None  # full for an ordinary patient
    clock.advance(seconds=5)
    soldier = _soldier(svc, actors, "U9200003")
    assert soldier["ticket"]["room_id"] == room_id(svc, "US1")  # priority passes the cap (the default)
    state = calling.room_state(svc, room_id(svc, "US1"), by=doc)
    assert state["waiting"][0]["exam_id"] == soldier["exam_id"]  # first in the room's line
    assert triage_board.patient_notes(svc, [soldier["exam_id"]], by=doc)[soldier["exam_id"]]["flags"] == ["军人"]
    row = next(p for p in rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["patients"]
               if p["exam_id"] == soldier["exam_id"])
    assert row["flags"] == ["军人"]
    rows = {w["code"]: w for w in screens.screen_state(svc, screen)["waiting"]}
    shown = rows[soldier["ticket"]["code"]]
    assert shown["flag"] == "优先"  # the hall never learns the class
    assert shown["name"] == "林*人"  # masked
    assert "军人" not in str(rows)


def test_outside_ultrasound_dispatch_the_military_flag_changes_nothing(svc, actors):
    settings_store.put(svc, "us.priority_military", True, by=actors["admin"])
    screen = _us_screen(svc)
    soldier = _soldier(svc, actors, "U9200004", item="DR-CHEST")
    rows = {w["code"]: w for w in screens.screen_state(svc, screen)["waiting"]}
    assert rows[soldier["ticket"]["code"]]["flag"] == ""  # 军人 is an ultrasound-dispatch setting


def test_the_military_flag_sticks_on_re_registration_and_the_desk_lookup_shows_it(svc, actors):
    first = PatientData(mrn="U9200005", name="韩军人", sex="M", military=True)
    registration.register(svc, OrderData(patient=first, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    again = PatientData(mrn="U9200005", name="韩军人", sex="M")  # a later order that does not say so
    registration.register(svc, OrderData(patient=again, item_code="DR-CHEST", slot_id=None), by=actors["clerk"])
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Patient.military).where(Patient.mrn == "U9200005")).one() is True
    found = patient_lookup.find_by_mrn(svc, "U9200005", by=actors["clerk"])
    assert found is not None
    assert found["military"] is True
    plain = PatientData(mrn="U9200006", name="许平民", sex="F")
    registration.register(svc, OrderData(patient=plain, item_code="DR-CHEST", slot_id=None), by=actors["clerk"])
    later = PatientData(mrn="U9200006", name="许平民", sex="F", military=True)  # a later order may add it
    registration.register(svc, OrderData(patient=later, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    found = patient_lookup.find_by_mrn(svc, "U9200006", by=actors["clerk"])
    assert found is not None
    assert found["military"] is True


def test_a_mismatched_name_still_refuses_and_writes_no_flag(svc, actors):
    registration.register(svc, OrderData(patient=PatientData(mrn="U9200007", name="赵一", sex="M"),
                                         item_code="DR-CHEST", slot_id=None), by=actors["clerk"])
    with pytest.raises(Conflict) as err:
        registration.register(svc, OrderData(patient=PatientData(mrn="U9200007", name="赵二", sex="M", military=True),
                                             item_code="DR-CHEST", slot_id=None), by=actors["clerk"])
    assert err.value.code == "patient_mismatch"
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Patient.military).where(Patient.mrn == "U9200007")).one() is False
