"""Issue 15 items 4-11 and issue 16 item 6: ultrasound dispatch as departments run it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import QueueTicket
from backend.db.models.ultrasound import ShiftSession
from backend.domain.actor import SYSTEM
from backend.domain.errors import Conflict, Forbidden
from backend.domain.exam_flow import Trigger
from backend.domain.registration import OrderData, PatientData
from backend.jobs import scheduled_jobs
from backend.services import settings_store, timeline
from backend.services.admin import org
from backend.services.base import transaction
from backend.services.orders import exam_detail, registration
from backend.services.patient_flow import calling, checkin, shift_sessions, shifts, triage, triage_board
from tests.us_helpers import check_in_us, room_id, shift_id, sonographer


def open_room(svc: Any, actors: Any, code: str, shift: str = "乳腺上午班", doc: Any = None) -> Any:
    doc = doc or sonographer(svc, actors["admin"])
    shift_sessions.open_session(svc, by=doc, shift_id=shift_id(svc, shift), room_id=room_id(svc, code),
                                with_typist=False)
    return doc


def ticket_of(svc: Any, exam_id: int) -> QueueTicket:
    with transaction(svc, readonly=True) as tx:
        t = tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam_id)).one()
        tx.session.expunge(t)
        return t


def rooms_of(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["room_code"]: r for r in board["rooms"]}


# ---- item 4: closing a room ------------------------------------------------------------------------------

def test_closing_a_room_with_an_open_shift_is_refused_with_the_reason(svc, actors):
    open_room(svc, actors, "US1")
    for _ in range(4):
        check_in_us(svc, actors)
    with pytest.raises(Conflict) as err:
        org.update_room(svc, room_id(svc, "US1"), by=actors["admin"], active=False)
    assert err.value.code == "room_has_open_shift"
    assert "结班" in err.value.message
    board = triage_board.board(svc, by=actors["nurse"])
    assert rooms_of(board)["US1"]["queued"] == 4  # nobody vanished
    assert board["totals"]["waiting"] == 4


def test_after_the_nurse_closes_the_shift_the_room_closes_and_its_patients_are_back_in_triage(svc, actors):
    open_room(svc, actors, "US1")
    for _ in range(3):
        check_in_us(svc, actors)
    shift_sessions.supervise(svc, room_id(svc, "US1"), "close", by=actors["nurse"])
    room = org.update_room(svc, room_id(svc, "US1"), by=actors["admin"], active=False)
    assert room["active"] is False
    assert room["queues"] == ["US-BREAST"]  # PATCH answers the queues the room keeps (item 10)
    board = triage_board.board(svc, by=actors["nurse"])
    assert len(board["pool"]) == 3
    assert board["totals"]["waiting"] == 3


# ---- item 5: one patient, one room at a time ---------------------------------------------------------------

def _patient_with(svc: Any, actors: Any, items: list[str], mrn: str) -> list[dict[str, Any]]:
    p = PatientData(mrn=mrn, name="孙两项", sex="F", birth_date=date(1980, 5, 1))
    for item in items:
        registration.register(svc, OrderData(patient=p, item_code=item, slot_id=None), by=actors["clerk"])
    return checkin.check_in(svc, None, "mrn", mrn, by=actors["nurse"])["results"]


def test_exams_one_room_can_serve_go_to_that_room(svc, actors):
    both = shifts.create_shift(svc, by=actors["admin"], queue_ids=_queue_ids(svc, "US-BREAST", "US-THYROID"),
                               name="乳腺甲状腺上午班", group_id=_group(svc), campus_id=_campus(svc),
                               slot_type="am", max_auto=8)
    doc = sonographer(svc, actors["admin"])
    shift_sessions.open_session(svc, by=doc, shift_id=both["id"], room_id=room_id(svc, "US3"), with_typist=False)
    open_room(svc, actors, "US4", shift="甲状腺上午班")
    results = _patient_with(svc, actors, ["US-BREAST", "US-THYROID"], "U9000001")
    assert [r["ticket"]["room_id"] for r in results] == [room_id(svc, "US3")] * 2
    reasons = [e["details"].get("reason") for r in results for e in timeline.events_of(svc, r["exam_id"])
               if e["kind"] == "ticket_triaged"]
    assert "same_patient" in reasons


def test_a_patient_called_elsewhere_is_not_called_and_the_room_sees_her_other_exam(svc, actors):
    d1 = open_room(svc, actors, "US1")
    d4 = open_room(svc, actors, "US4", shift="甲状腺上午班")
    breast, thyroid = _patient_with(svc, actors, ["US-BREAST", "US-THYROID"], "U9000002")
    assert (breast["ticket"]["room_id"], thyroid["ticket"]["room_id"]) == (room_id(svc, "US1"), room_id(svc, "US4"))
    called = calling.call_next(svc, room_id(svc, "US1"), by=d1)
    assert called["exam_id"] == breast["exam_id"]
    with pytest.raises(Exception) as err:
        calling.call_next(svc, room_id(svc, "US4"), by=d4)
    assert getattr(err.value, "code", "") == "queue_empty"  # she is in US1 now: US4 does not call her
    notes = triage_board.patient_notes(svc, [thyroid["exam_id"]], by=d4)
    assert notes[thyroid["exam_id"]]["others"] == ["乳腺超声（超声1诊室，已叫号）"]
    calling.start_exam(svc, called["ticket_id"], by=d1)
    calling.finish_exam(svc, called["ticket_id"], by=d1)
    assert calling.call_next(svc, room_id(svc, "US4"), by=d4)["exam_id"] == thyroid["exam_id"]


# ---- item 6: the room's queues -------------------------------------------------------------------------------

def test_only_queues_both_the_shift_and_the_room_serve_and_the_shift_page_warns(svc, actors):
    open_room(svc, actors, "US6", shift="血管妇产上午班")  # US6 is set up for 妇产 only
    vasc = check_in_us(svc, actors, "US-VASC")
    ob = check_in_us(svc, actors, "US-OB")
    assert vasc["ticket"]["room_id"] is None
    assert ob["ticket"]["room_id"] == room_id(svc, "US6")
    groups = shift_sessions.choices(svc, by=sonographer(svc, actors["admin"]))
    rooms = {r["code"]: r for g in groups for s in g["shifts"] if s["name"] == "血管妇产上午班" for r in s["rooms"]}
    assert rooms["US6"]["unserved"] == ["血管超声"]
    assert rooms["US5"]["unserved"] == ["妇产超声"]


# ---- item 7: priority classes ----------------------------------------------------------------------------------

def test_emergency_passes_the_cap_goes_first_and_is_flagged(svc, actors, clock):
    doc = open_room(svc, actors, "US1")
    for _ in range(8):
        clock.advance(seconds=5)
        check_in_us(svc, actors)
    clock.advance(seconds=5)
    routine = check_in_us(svc, actors)
    assert routine["ticket"]["room_id"] is None  # full
    clock.advance(seconds=5)
    er = check_in_us(svc, actors, patient_class="emergency")
    assert er["ticket"]["room_id"] == room_id(svc, "US1")
    state = calling.room_state(svc, room_id(svc, "US1"), by=doc)
    assert state["waiting"][0]["exam_id"] == er["exam_id"]  # first in line
    notes = triage_board.patient_notes(svc, [er["exam_id"]], by=doc)
    assert notes[er["exam_id"]]["flags"] == ["急诊"]
    row = next(p for p in rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["patients"]
               if p["exam_id"] == er["exam_id"])
    assert row["flags"] == ["急诊"]


def test_passing_the_cap_is_a_setting_and_elderly_priority_too(svc, actors, clock):
    settings_store.put(svc, "us.priority_pass_cap", False, by=actors["admin"])
    settings_store.put(svc, "us.priority_elderly_age", 70, by=actors["admin"])
    open_room(svc, actors, "US1")
    for _ in range(8):
        check_in_us(svc, actors)
    er = check_in_us(svc, actors, patient_class="emergency")
    assert er["ticket"]["room_id"] is None
    pool = triage_board.board(svc, by=actors["nurse"])["pool"]
    assert pool[0]["flags"] == ["急诊"]  # flagged in the pool
    p = PatientData(mrn="U9000003", name="周老人", sex="M", birth_date=date(1940, 1, 1))
    registration.register(svc, OrderData(patient=p, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])
    flags = {r["name"]: r["flags"] for r in triage_board.board(svc, by=actors["nurse"])["pool"]}
    assert flags["周老人"] == ["老人"]


# ---- item 8: US-11 after a manual move ---------------------------------------------------------------------------

def test_missed_patient_returns_to_the_room_that_last_called_her(svc, actors):
    open_room(svc, actors, "US1")
    d2 = open_room(svc, actors, "US2")
    r = check_in_us(svc, actors)
    first = r["ticket"]["room_id"]
    other = room_id(svc, "US2") if first == room_id(svc, "US1") else room_id(svc, "US1")
    triage.assign(svc, r["ticket"]["ticket_id"], other, by=actors["nurse"])
    doc = d2 if other == room_id(svc, "US2") else None
    doc = doc or sonographer(svc, actors["admin"])
    called = calling.call_next(svc, other, by=doc)
    calling.mark_missed(svc, called["ticket_id"], by=doc)
    back = checkin.check_in_exam(svc, r["exam_id"], None, by=actors["nurse"])
    assert back["ticket"]["room_id"] == other


# ---- item 9: shifts end ---------------------------------------------------------------------------------------------

def test_a_session_ends_at_its_window_plus_grace_and_patients_go_back_to_triage(svc, actors, clock):
    doc = open_room(svc, actors, "US1")  # 09:00, 上午班 08:00-12:00, grace 30
    assert shift_sessions.current_session(svc, by=doc)["ends_local"].endswith("12:30")
    for _ in range(2):
        check_in_us(svc, actors)
    job = next(j for j in scheduled_jobs() if j.name == "shift_expiry")
    clock.advance(hours=3, minutes=29)
    assert job.run(svc) == 0
    clock.advance(minutes=1)
    assert job.run(svc) == 1
    assert shift_sessions.current_session(svc, by=doc) is None
    assert len(triage_board.board(svc, by=actors["nurse"])["pool"]) == 2
    with transaction(svc, readonly=True) as tx:
        s = tx.session.scalars(select(ShiftSession).where(ShiftSession.user_id == doc.id)).one()
        assert s.end_reason == "expired"


def test_a_session_chosen_after_its_window_ends_at_the_day_change(svc, actors, clock):
    clock.advance(hours=6)  # 15:00 on the morning shift
    doc = open_room(svc, actors, "US1")
    assert shift_sessions.current_session(svc, by=doc)["ends_local"] == "11-28 00:00"
    clock.advance(hours=9)  # 00:00 next day
    assert shift_sessions.end_expired(svc, by=SYSTEM) == 1


def test_nurse_pauses_resumes_closes_and_hands_over_a_room(svc, actors):
    doc = open_room(svc, actors, "US1")
    us1 = room_id(svc, "US1")
    check_in_us(svc, actors)
    s = shift_sessions.supervise(svc, us1, "pause", by=actors["nurse"])
    assert s["paused"] is True
    board = triage_board.board(svc, by=actors["nurse"])
    assert (rooms_of(board)["US1"]["queued"], len(board["pool"])) == (0, 1)
    assert check_in_us(svc, actors)["ticket"]["room_id"] is None  # a paused room takes nobody
    shift_sessions.supervise(svc, us1, "resume", by=actors["admin"])
    assert rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["queued"] == 2  # pulled back
    other = sonographer(svc, actors["admin"], "接班医师")
    handed = shift_sessions.supervise(svc, us1, "take_over", by=actors["nurse"], to_user_id=other.id)
    assert handed["user_id"] == other.id
    assert shift_sessions.current_session(svc, by=doc) is None
    assert rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["queued"] == 2  # patients stay
    shift_sessions.supervise(svc, us1, "close", by=actors["nurse"])
    assert len(triage_board.board(svc, by=actors["nurse"])["pool"]) == 2
    with pytest.raises(Forbidden):
        shift_sessions.supervise(svc, us1, "close", by=doc)  # a doctor is no supervisor
    with pytest.raises(Forbidden):
        shift_sessions.supervise(svc, us1, "close", by=actors["clerk"])


# ---- issue 16 item 6: who may take over ------------------------------------------------------------------------------

def test_only_examining_roles_open_or_take_over_a_session(svc, actors):
    open_room(svc, actors, "US1")
    for who in ("clerk", "typist", "nurse", "admin"):
        with pytest.raises(Forbidden):
            shift_sessions.open_session(svc, by=actors[who], shift_id=shift_id(svc, "乳腺上午班"),
                                        room_id=room_id(svc, "US1"), with_typist=False, take_over=True)
    assert rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["session"] is not None
    other = sonographer(svc, actors["admin"])
    s = shift_sessions.open_session(svc, by=other, shift_id=shift_id(svc, "乳腺上午班"),
                                    room_id=room_id(svc, "US1"), with_typist=False, take_over=True)
    assert s["user_id"] == other.id


# ---- item 10: reasons in Chinese, starting an exam closes its pooled ticket, identity, labels ------------------------

def test_timeline_says_why_in_chinese_with_the_room(svc, actors):
    open_room(svc, actors, "US1")
    r = check_in_us(svc, actors)
    events = exam_detail.detail(svc, r["exam_id"], by=actors["nurse"])["events"]
    row = next(e for e in events if e["kind"] == "ticket_triaged")
    assert row["label"] == "分诊"
    assert row["note"] == "自动分诊，分到 超声1诊室，原因：按各诊室负荷均衡分配"


def test_starting_an_exam_while_its_ticket_waits_in_the_pool_closes_the_ticket(svc, actors):
    r = check_in_us(svc, actors)
    assert r["ticket"]["room_id"] is None
    timeline.apply(svc, r["exam_id"], Trigger.START, by=actors["tech"])
    assert ticket_of(svc, r["exam_id"]).status == "done"
    assert triage_board.board(svc, by=actors["nurse"])["pool"] == []
    open_room(svc, actors, "US1")  # a room opening later does not pull (nor call) her
    assert rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["queued"] == 0


def test_staff_pages_show_full_name_sex_age_and_mrn_and_the_board_searches(svc, actors, clock):
    doc = open_room(svc, actors, "US1")
    p = PatientData(mrn="U9000004", name="郝美丽", sex="F", birth_date=date(1990, 1, 1))
    registration.register(svc, OrderData(patient=p, item_code="US-BREAST", slot_id=None), by=actors["clerk"])
    checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])
    check_in_us(svc, actors)
    clock.advance(minutes=12)
    state = calling.room_state(svc, room_id(svc, "US1"), by=doc)
    row = next(w for w in state["waiting"] if w["mrn"] == "U9000004")
    assert (row["name"], row["sex"], row["age"]) == ("郝美丽", "女", 36)
    board = triage_board.board(svc, by=actors["nurse"], q="郝美")
    found = rooms_of(board)["US1"]["patients"]
    assert [(p["name"], p["mrn"], p["waited_min"]) for p in found] == [("郝美丽", "U9000004", 12)]
    assert len(rooms_of(triage_board.board(svc, by=actors["nurse"], q="U9000004"))["US1"]["patients"]) == 1


def test_per_room_totals_for_today(svc, actors, clock):
    doc = open_room(svc, actors, "US1")
    us1 = room_id(svc, "US1")
    for _ in range(3):
        check_in_us(svc, actors)
    for minutes in (10, 20):
        t = calling.call_next(svc, us1, by=doc)
        calling.start_exam(svc, t["ticket_id"], by=doc)
        clock.advance(minutes=minutes)
        calling.finish_exam(svc, t["ticket_id"], by=doc)
    t = calling.call_next(svc, us1, by=doc)
    calling.mark_missed(svc, t["ticket_id"], by=doc)
    today = rooms_of(triage_board.board(svc, by=actors["nurse"]))["US1"]["today"]
    assert today == {"finished": 2, "no_show": 1, "avg_exam_min": 15.0}


def test_shift_form_errors_name_the_fields_in_chinese(svc, actors):
    with pytest.raises(Exception) as err:
        shifts.create_shift(svc, by=actors["admin"], queue_ids=[1], name="新班次", group_id=_group(svc))
    assert "院区" in err.value.message
    assert "campus_id" not in err.value.message


# ---- item 11: the shift gate is a setting -------------------------------------------------------------------------

def test_shift_gate_is_required_by_default_and_can_be_turned_off(svc, actors):
    doc = sonographer(svc, actors["admin"])
    assert shift_sessions.gate_required(svc, doc)
    assert not shift_sessions.gate_required(svc, actors["doctor"])  # 放射科 reads, no shift
    settings_store.put(svc, "us.shift_required", False, by=actors["admin"])
    assert not shift_sessions.gate_required(svc, doc)
    assert shift_sessions.needs_choice(svc, doc)  # still offered after sign-in


# ---- helpers --------------------------------------------------------------------------------------------------------

def _queue_ids(svc: Any, *codes: str) -> list[int]:
    from backend.db.models import Queue

    with transaction(svc, readonly=True) as tx:
        return list(tx.session.scalars(select(Queue.id).where(Queue.code.in_(codes))))


def _group(svc: Any) -> int:
    from backend.db.models.ultrasound import ShiftGroup

    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalars(select(ShiftGroup.id).where(ShiftGroup.name == "上午班")).one())


def _campus(svc: Any) -> int:
    from backend.db.models import Campus

    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalars(select(Campus.id).where(Campus.code == "MAIN")).one())


