"""Auto-triage (US-1, US-9), waiting counts (US-10), missed patients (US-11), manual triage (US-12..US-15)."""

from __future__ import annotations

import pytest

from backend.domain.errors import Conflict, Forbidden
from backend.services import timeline
from backend.services.patient_flow import calling, checkin, shift_sessions, triage, triage_board
from tests.us_helpers import check_in_us, room_id, shift_id, sonographer


def open_room(svc, actors, code, shift="乳腺上午班", typist=False, doc=None):
    doc = doc or sonographer(svc, actors["admin"])
    shift_sessions.open_session(svc, by=doc, shift_id=shift_id(svc, shift), room_id=room_id(svc, code),
                                with_typist=typist)
    return doc


def triaged(svc, exam_id):
    return [e for e in timeline.events_of(svc, exam_id) if e["kind"] in ("ticket_triaged", "ticket_pooled")]


def test_checked_in_patient_goes_to_the_least_loaded_room_with_the_reason(svc, actors, notifier):
    open_room(svc, actors, "US1")
    open_room(svc, actors, "US2", typist=True)  # capacity 12 against 8
    r = check_in_us(svc, actors)
    assert r["ticket"]["room_id"] == room_id(svc, "US2")  # tie at 0: more free places
    ev = triaged(svc, r["exam_id"])[-1]
    assert ev["details"]["reason"] == "fair_share"
    assert ev["details"]["mode"] == "auto"
    assert {c["code"]: (c["load"], c["capacity"]) for c in ev["details"]["candidates"]} == {
        "US1": (0, 8), "US2": (0, 12)}
    assert "ticket_triaged" in notifier.names()


def test_only_rooms_whose_shift_links_the_queue(svc, actors):
    open_room(svc, actors, "US3", shift="甲状腺上午班")
    breast = check_in_us(svc, actors, "US-BREAST")
    thyroid = check_in_us(svc, actors, "US-THYROID")
    assert breast["ticket"]["room_id"] is None  # no breast room open: the pool
    assert triaged(svc, breast["exam_id"])[-1]["details"]["reason"] == "no_open_session"
    assert thyroid["ticket"]["room_id"] == room_id(svc, "US3")


def test_never_beyond_capacity_then_pool_then_pulled_when_a_room_frees(svc, actors, clock):
    doc = open_room(svc, actors, "US1")
    us1 = room_id(svc, "US1")
    placed = [check_in_us(svc, actors) for _ in range(8)]
    assert all(p["ticket"]["room_id"] == us1 for p in placed)
    clock.advance(minutes=1)
    extra = [check_in_us(svc, actors) for _ in range(2)]
    assert [e["ticket"]["room_id"] for e in extra] == [None, None]
    assert triaged(svc, extra[0]["exam_id"])[-1]["details"]["reason"] == "all_full"
    board = triage_board.board(svc, by=actors["nurse"])
    assert [t["code"] for t in board["pool"]] == [e["ticket"]["code"] for e in extra]
    # the room's calling list holds only its triaged patients (the pool is not called directly)
    state = calling.room_state(svc, us1, by=doc)
    assert [w["code"] for w in state["waiting"]] == [p["ticket"]["code"] for p in placed]
    called = calling.call_next(svc, us1, by=doc)
    calling.start_exam(svc, called["ticket_id"], by=doc)
    calling.finish_exam(svc, called["ticket_id"], by=doc)
    state = calling.room_state(svc, us1, by=doc)
    assert state["waiting"][-1]["code"] == extra[0]["ticket"]["code"]  # pulled, in order
    assert triaged(svc, extra[0]["exam_id"])[-1]["details"]["mode"] == "pull"
    assert len(triage_board.board(svc, by=actors["nurse"])["pool"]) == 1


def test_opening_a_session_pulls_the_pool(svc, actors):
    waiting = [check_in_us(svc, actors) for _ in range(3)]
    assert all(w["ticket"]["room_id"] is None for w in waiting)
    open_room(svc, actors, "US2")
    board = triage_board.board(svc, by=actors["nurse"])
    us2 = next(r for r in board["rooms"] if r["room_code"] == "US2")
    assert (us2["load"], us2["max_auto"], us2["capacity"], us2["queued"]) == (3, 8, 8, 3)
    assert board["pool"] == []


def test_session_closing_mid_day_sends_waiting_patients_back_to_triage(svc, actors):
    doc1 = open_room(svc, actors, "US1")
    open_room(svc, actors, "US2")
    placed = [check_in_us(svc, actors) for _ in range(4)]
    us1, us2 = room_id(svc, "US1"), room_id(svc, "US2")
    assert sorted(p["ticket"]["room_id"] for p in placed) == [us1, us1, us2, us2]
    shift_sessions.close_session(svc, by=doc1)
    board = triage_board.board(svc, by=actors["nurse"])
    assert next(r for r in board["rooms"] if r["room_code"] == "US2")["load"] == 4
    assert next(r for r in board["rooms"] if r["room_code"] == "US1")["session"] is None


def test_waiting_counts_of_the_current_shift_queues(svc, actors):
    doc = open_room(svc, actors, "US5", shift="血管妇产上午班")
    check_in_us(svc, actors, "US-VASC")
    check_in_us(svc, actors, "US-OB")
    check_in_us(svc, actors, "US-OB")
    counts = {q["queue_code"]: q for q in triage_board.queue_counts(svc, by=doc)}
    assert (counts["US-OB"]["waiting"], counts["US-VASC"]["waiting"]) == (2, 1)
    # the shift links 妇产, but US5 is set up for 血管 only: 妇产 patients wait for a room that serves them
    assert (counts["US-OB"]["at_my_room"], counts["US-OB"]["pool"]) == (0, 2)
    assert (counts["US-VASC"]["at_my_room"], counts["US-VASC"]["pool"]) == (1, 0)
    assert set(counts) == {"US-VASC", "US-OB"}


def test_missed_patient_returns_to_the_first_room_even_when_full(svc, actors, clock):
    doc = open_room(svc, actors, "US1")
    open_room(svc, actors, "US2")
    us1 = room_id(svc, "US1")
    first = check_in_us(svc, actors)
    assert first["ticket"]["room_id"] == us1
    called = calling.call_next(svc, us1, by=doc)
    calling.mark_missed(svc, called["ticket_id"], by=doc)
    for _ in range(16):
        clock.advance(seconds=10)
        check_in_us(svc, actors)  # both rooms fill up to 8
    mrn_exam = first["exam_id"]
    back = checkin.check_in_exam(svc, mrn_exam, None, by=actors["nurse"])
    assert back["ok"]
    assert back["requeued"]
    assert back["ticket"]["room_id"] == us1
    last = triaged(svc, mrn_exam)[-1]["details"]
    assert (last["mode"], last["reason"]) == ("requeue", "first_room")
    board = triage_board.board(svc, by=actors["nurse"])
    assert next(r for r in board["rooms"] if r["room_code"] == "US1")["load"] == 9  # beyond 8, documented


def test_nurse_moves_a_patient_to_a_full_room(svc, actors):
    open_room(svc, actors, "US1")
    open_room(svc, actors, "US2")
    us1, us2 = room_id(svc, "US1"), room_id(svc, "US2")
    for _ in range(17):
        check_in_us(svc, actors)
    pool = triage_board.board(svc, by=actors["nurse"])["pool"]
    assert len(pool) == 1
    moved = triage.assign(svc, pool[0]["ticket_id"], us1, by=actors["nurse"])
    assert moved["room_id"] == us1
    ev = triaged(svc, moved["exam_id"])[-1]
    assert ev["actor"] == actors["nurse"].label
    assert (ev["details"]["mode"], ev["details"]["over_capacity"], ev["details"]["load"]) == ("manual", True, 8)
    # moving a patient out of US2 frees a place there: nothing waits in the pool, so US2 keeps 7
    some = next(r for r in triage_board.board(svc, by=actors["nurse"])["rooms"] if r["room_id"] == us2)
    triage.assign(svc, some["patients"][0]["ticket_id"], us1, by=actors["admin"])
    rooms = {r["room_code"]: r for r in triage_board.board(svc, by=actors["admin"])["rooms"]}
    assert (rooms["US1"]["load"], rooms["US2"]["load"]) == (10, 7)


def test_manual_triage_rules(svc, actors):
    open_room(svc, actors, "US7", shift="腹部上午班")
    r = check_in_us(svc, actors)
    with pytest.raises(Forbidden):
        triage.assign(svc, r["ticket"]["ticket_id"], room_id(svc, "US7"), by=actors["tech"])
    with pytest.raises(Conflict) as err:
        triage.assign(svc, r["ticket"]["ticket_id"], room_id(svc, "US7"), by=actors["nurse"])
    assert err.value.code == "room_not_serving"  # US7 works the abdomen shift, not breast


def test_other_queues_are_untouched(svc, actors):
    from tests.services.kiosk_helpers import exam_for, new_patient

    p = new_patient()
    exam_for(svc, actors["clerk"], p)
    r = checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])["results"][0]
    assert r["ok"]
    assert r["ticket"]["room_id"] is None
    assert triaged(svc, r["exam_id"]) == []


def test_periodic_pull_fills_rooms_from_the_pool(svc, actors):
    from backend.domain.actor import SYSTEM
    from backend.jobs import scheduled_jobs

    triage_pull = next(job for job in scheduled_jobs() if job.name == "triage_pull")
    doc = open_room(svc, actors, "US1")
    shift_sessions.close_session(svc, by=doc)
    waiting = check_in_us(svc, actors)
    assert waiting["ticket"]["room_id"] is None
    assert triage_pull.run(svc) == 0  # nobody open: nothing to do
    open_room(svc, actors, "US2")  # opening pulls at once
    assert triage.pull_all(svc, by=SYSTEM) == 0  # and the job finds nothing left
