"""Issue 15 items 5 and 7, the parts finished later: one number per visit (a patient's exams that one room
serves share one ticket number and are called once), never two rooms at once, and the hall screen's
priority flag (names stay masked)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import Campus, QueueTicket
from backend.db.models.screens import Screen
from backend.domain.registration import OrderData, PatientData
from backend.domain.screen_board import screen_flag
from backend.services import settings_store, timeline
from backend.services.base import transaction
from backend.services.orders import registration
from backend.services.patient_flow import calling, checkin, screens, shift_sessions, shifts, triage, triage_board
from tests.services.test_us_dispatch_rules import _campus, _group, _queue_ids, open_room
from tests.us_helpers import check_in_us, room_id, sonographer


def _both_room(svc: Any, actors: Any, code: str = "US3") -> Any:
    """A room whose shift serves both 乳腺 and 甲状腺 (US3 is set up for both)."""
    both = shifts.create_shift(svc, by=actors["admin"], queue_ids=_queue_ids(svc, "US-BREAST", "US-THYROID"),
                               name="乳腺甲状腺上午班", group_id=_group(svc), campus_id=_campus(svc),
                               slot_type="am", max_auto=8)
    doc = sonographer(svc, actors["admin"])
    shift_sessions.open_session(svc, by=doc, shift_id=both["id"], room_id=room_id(svc, code), with_typist=False)
    return doc


def _patient(svc: Any, actors: Any, items: list[str], mrn: str, name: str = "孙两项",
             **kw: Any) -> list[dict[str, Any]]:
    p = PatientData(mrn=mrn, name=name, sex="F", birth_date=date(1980, 5, 1))
    for item in items:
        registration.register(svc, OrderData(patient=p, item_code=item, slot_id=None, **kw), by=actors["clerk"])
    return checkin.check_in(svc, None, "mrn", mrn, by=actors["nurse"])["results"]


def _tickets(svc: Any, exam_ids: list[int]) -> list[QueueTicket]:
    with transaction(svc, readonly=True) as tx:
        rows = list(tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id.in_(exam_ids))
                                       .order_by(QueueTicket.exam_id)))
        for t in rows:
            tx.session.expunge(t)
        return rows


def _us_screen(svc: Any) -> str:
    with transaction(svc) as tx:
        main = tx.session.scalars(select(Campus.id).where(Campus.code == "MAIN")).one()
        tx.session.add(Screen(code="HALL-US", name="超声候诊屏", campus_id=main, layout="hall-main.toml",
                              queue_codes=["US-BREAST", "US-THYROID", "DR"], notice="", active=True,
                              voice_enabled=True, voice_repeat=1))
    return "HALL-US"


# ---- item 5: one number per visit ---------------------------------------------------------------------------

def test_exams_one_room_serves_share_one_number_and_are_called_once(svc, actors, notifier):
    doc = _both_room(svc, actors)
    other = check_in_us(svc, actors)  # someone already waiting in US3
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100001")
    assert breast["ticket"]["room_id"] == thyroid["ticket"]["room_id"] == room_id(svc, "US3")
    assert thyroid["ticket"]["code"] == breast["ticket"]["code"]  # one number on her slip and the screen
    # The hall screen shows her once in the waiting line.
    screen = _us_screen(svc)
    codes = [w["code"] for w in screens.screen_state(svc, screen)["waiting"]]
    assert codes == [other["ticket"]["code"], breast["ticket"]["code"]]

    us3 = room_id(svc, "US3")
    first = calling.call_next(svc, us3, by=doc)
    assert first["exam_id"] == other["exam_id"]
    calling.start_exam(svc, first["ticket_id"], by=doc)
    calling.finish_exam(svc, first["ticket_id"], by=doc)
    notifier.sent.clear()
    called = calling.call_next(svc, us3, by=doc)
    assert called["exam_id"] == breast["exam_id"]
    assert [t.status for t in _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])] == ["called", "called"]
    public_calls = [e for e in notifier.sent if e.name == "ticket_called" and any(
        r.startswith("campus:") for r in e.rooms)]
    assert len(public_calls) == 1  # the screens announce the number once
    # The room works through her exams one after the other: the second is the current one after the first.
    calling.start_exam(svc, called["ticket_id"], by=doc)
    calling.finish_exam(svc, called["ticket_id"], by=doc)
    state = calling.room_state(svc, us3, by=doc)
    assert state["current"]["exam_id"] == thyroid["exam_id"]
    assert state["current"]["code"] == breast["ticket"]["code"]


def test_a_missed_visit_misses_all_its_exams(svc, actors):
    doc = _both_room(svc, actors)
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100002")
    t = calling.call_next(svc, room_id(svc, "US3"), by=doc)
    calling.mark_missed(svc, t["ticket_id"], by=doc)
    assert [t.status for t in _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])] == ["missed", "missed"]
    again = checkin.check_in(svc, None, "mrn", "U9100002", by=actors["nurse"])["results"]
    assert [r["ticket"]["room_id"] for r in again] == [room_id(svc, "US3")] * 2
    assert len({r["ticket"]["code"] for r in again}) == 1


def test_a_room_pulling_her_from_the_pool_takes_the_whole_visit(svc, actors):
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100003")
    assert breast["ticket"]["room_id"] is None  # no room open yet
    assert thyroid["ticket"]["room_id"] is None
    # A breast-only room opens first: it takes the breast exam; then a room serving both opens.
    open_room(svc, actors, "US1")
    _both_room(svc, actors)
    b, t = _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])
    assert b.room_id == room_id(svc, "US1")
    assert t.room_id == room_id(svc, "US3")  # the thyroid exam cannot be served in US1
    assert t.code != b.code


def test_a_room_serving_both_pulls_both_under_one_number(svc, actors):
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100004")
    _both_room(svc, actors)
    b, t = _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])
    assert b.room_id == t.room_id == room_id(svc, "US3")
    assert b.code == t.code == breast["ticket"]["code"]
    reasons = [e["details"].get("reason") for e in timeline.events_of(svc, thyroid["exam_id"])
               if e["kind"] == "ticket_triaged"]
    assert reasons == ["same_patient"]


def test_the_nurse_moves_the_whole_visit_and_a_split_visit_gets_its_own_numbers(svc, actors):
    _both_room(svc, actors)
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100005")
    assert breast["ticket"]["room_id"] == room_id(svc, "US3")
    open_room(svc, actors, "US1")
    # US1 serves breast only: moving the breast exam there splits the visit; each part has its own number.
    triage.assign(svc, breast["ticket"]["ticket_id"], room_id(svc, "US1"), by=actors["nurse"])
    b, t = _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])
    assert (b.room_id, t.room_id) == (room_id(svc, "US1"), room_id(svc, "US3"))
    assert b.code.startswith("RX")
    assert t.code.startswith("JZ")


def test_a_room_transfer_of_one_exam_gives_it_its_own_number(svc, actors):
    doc = _both_room(svc, actors)
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100008")
    moved = calling.transfer(svc, thyroid["ticket"]["ticket_id"], room_id(svc, "US4"), by=doc)
    assert moved["code"].startswith("JZ")
    assert _tickets(svc, [breast["exam_id"]])[0].code == breast["ticket"]["code"]


def test_the_nurse_moving_a_visit_to_the_pool_moves_all_of_it(svc, actors):
    _both_room(svc, actors)
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100006")
    triage.assign(svc, breast["ticket"]["ticket_id"], None, by=actors["nurse"])
    released = [e["details"] for e in timeline.events_of(svc, thyroid["exam_id"]) if e["kind"] == "ticket_released"]
    assert released[0]["reason"] == "same_patient"  # the thyroid exam left with her
    # US3 has free places again and pulls the pool: the whole visit comes back under one number.
    b, t = _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])
    assert b.room_id == t.room_id == room_id(svc, "US3")
    assert b.code == t.code


def test_a_patient_being_examined_elsewhere_is_not_called(svc, actors):
    d1 = open_room(svc, actors, "US1")
    d4 = open_room(svc, actors, "US4", shift="甲状腺上午班")
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100007")
    assert (breast["ticket"]["room_id"], thyroid["ticket"]["room_id"]) == (room_id(svc, "US1"), room_id(svc, "US4"))
    called = calling.call_next(svc, room_id(svc, "US1"), by=d1)
    calling.start_exam(svc, called["ticket_id"], by=d1)  # in progress in US1
    with pytest.raises(Exception) as err:
        calling.call_next(svc, room_id(svc, "US4"), by=d4)
    assert getattr(err.value, "code", "") == "queue_empty"
    notes = triage_board.patient_notes(svc, [thyroid["exam_id"]], by=d4)
    assert notes[thyroid["exam_id"]]["others"] == ["乳腺超声（超声1诊室，已叫号）"]  # the room sees why
    calling.finish_exam(svc, called["ticket_id"], by=d1)
    assert calling.call_next(svc, room_id(svc, "US4"), by=d4)["exam_id"] == thyroid["exam_id"]


# ---- item 7: the hall screen's priority flag --------------------------------------------------------------------

def test_screen_flag_rules():
    assert screen_flag([]) == ""
    assert screen_flag(["critical"]) == "急诊"
    assert screen_flag(["emergency", "elderly"]) == "急诊"
    assert screen_flag(["elderly"]) == "优先"
    assert screen_flag(["pregnant"]) == "优先"


def test_hall_screen_flags_priority_patients_with_masked_names(svc, actors):
    settings_store.put(svc, "us.priority_elderly_age", 70, by=actors["admin"])
    screen = _us_screen(svc)
    open_room(svc, actors, "US1")
    plain = check_in_us(svc, actors)
    er = _patient(svc, actors, ["US-BREAST"], "U9100010", name="钱急诊", patient_class="emergency")[0]
    p = PatientData(mrn="U9100011", name="周老人", sex="M", birth_date=date(1940, 1, 1))
    registration.register(svc, OrderData(patient=p, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    old = checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])["results"][0]
    rows = {w["code"]: w for w in screens.screen_state(svc, screen)["waiting"]}
    assert rows[er["ticket"]["code"]]["flag"] == "急诊"
    assert rows[old["ticket"]["code"]]["flag"] == "优先"
    assert rows[plain["ticket"]["code"]]["flag"] == ""
    assert rows[er["ticket"]["code"]]["name"] == "钱*诊"  # still masked
    assert list(rows)[:2] == [er["ticket"]["code"], old["ticket"]["code"]]  # and they go first


def test_outside_ultrasound_dispatch_only_emergency_is_flagged(svc, actors):
    settings_store.put(svc, "us.priority_elderly_age", 70, by=actors["admin"])
    screen = _us_screen(svc)
    p = PatientData(mrn="U9100012", name="吴老人", sex="M", birth_date=date(1940, 1, 1))
    registration.register(svc, OrderData(patient=p, item_code="DR-CHEST", slot_id=None), by=actors["clerk"])
    old = checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])["results"][0]
    er = _patient(svc, actors, ["DR-CHEST"], "U9100013", name="郑急诊", patient_class="emergency")[0]
    rows = {w["code"]: w for w in screens.screen_state(svc, screen)["waiting"]}
    assert rows[old["ticket"]["code"]]["flag"] == ""  # 老人 is an ultrasound-dispatch setting
    assert rows[er["ticket"]["code"]]["flag"] == "急诊"


def test_the_called_patient_is_flagged_on_the_screen_too(svc, actors):
    screen = _us_screen(svc)
    doc = open_room(svc, actors, "US1")
    er = _patient(svc, actors, ["US-BREAST"], "U9100014", name="王危重", priority="stat")[0]
    calling.call_next(svc, room_id(svc, "US1"), by=doc)
    state = screens.screen_state(svc, screen)
    call = next(r["ticket"] for r in state["now_calling"] if r["room_code"] == "US1")
    assert (call["code"], call["flag"]) == (er["ticket"]["code"], "急诊")


def test_a_visit_split_by_its_room_closing_gives_each_exam_its_own_number(svc, actors):
    _both_room(svc, actors)
    breast, thyroid = _patient(svc, actors, ["US-BREAST", "US-THYROID"], "U9100015")
    assert thyroid["ticket"]["code"] == breast["ticket"]["code"]
    open_room(svc, actors, "US1")
    open_room(svc, actors, "US4", shift="甲状腺上午班")
    shift_sessions.supervise(svc, room_id(svc, "US3"), "close", by=actors["nurse"])
    b, t = _tickets(svc, [breast["exam_id"], thyroid["exam_id"]])
    assert (b.room_id, t.room_id) == (room_id(svc, "US1"), room_id(svc, "US4"))
    assert b.code == breast["ticket"]["code"]
    assert t.code.startswith("JZ")


def test_a_patient_scanned_elsewhere_without_a_ticket_is_not_called(svc, actors, clock):
    from backend.domain.exam_flow import Trigger

    doc = open_room(svc, actors, "US1")
    p = PatientData(mrn="U9100016", name="冯住院", sex="F", birth_date=date(1970, 2, 1))
    dr = registration.register(svc, OrderData(patient=p, item_code="DR-CHEST", slot_id=None,
                                              patient_class="inpatient"), by=actors["clerk"])
    registration.register(svc, OrderData(patient=p, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    us = checkin.check_in_exam(svc, _exam_of(svc, p.mrn, "US-BREAST"), None, by=actors["nurse"])
    assert us["ticket"]["room_id"] == room_id(svc, "US1")
    timeline.apply(svc, dr["exam_id"], Trigger.START, by=actors["tech"])  # begun from the worklist, no ticket
    with pytest.raises(Exception) as err:
        calling.call_next(svc, room_id(svc, "US1"), by=doc)
    assert getattr(err.value, "code", "") == "queue_empty"
    timeline.apply(svc, dr["exam_id"], Trigger.COMPLETE, by=actors["tech"])
    assert calling.call_next(svc, room_id(svc, "US1"), by=doc)["exam_id"] == us["exam_id"]


def test_an_exam_left_in_progress_for_days_does_not_block_her(svc, actors, clock):
    from backend.domain.exam_flow import Trigger

    p = PatientData(mrn="U9100017", name="褚遗留", sex="F", birth_date=date(1970, 2, 1))
    dr = registration.register(svc, OrderData(patient=p, item_code="DR-CHEST", slot_id=None), by=actors["clerk"])
    timeline.apply(svc, dr["exam_id"], Trigger.START, by=actors["tech"])  # never completed
    clock.advance(hours=72)
    doc = open_room(svc, actors, "US1")
    registration.register(svc, OrderData(patient=p, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    us = checkin.check_in_exam(svc, _exam_of(svc, p.mrn, "US-BREAST"), None, by=actors["nurse"])
    assert calling.call_next(svc, room_id(svc, "US1"), by=doc)["exam_id"] == us["exam_id"]


def _exam_of(svc: Any, mrn: str, item: str) -> int:
    from backend.db.models import Exam, ExamItem, Patient

    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalars(select(Exam.id).join(Patient, Patient.id == Exam.patient_id)
                                      .join(ExamItem, ExamItem.id == Exam.exam_item_id)
                                      .where(Patient.mrn == mrn, ExamItem.code == item)).one())
