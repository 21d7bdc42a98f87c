"""Shift configuration (US-2..US-6) and shift sessions chosen after sign-in (US-7, US-8)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db.models import Campus, Queue
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.services.base import transaction
from backend.services.patient_flow import shift_sessions, shifts
from tests.us_helpers import room_id, shift_id, sonographer


def ids(svc):
    with transaction(svc, readonly=True) as tx:
        q = dict(tx.session.execute(select(Queue.code, Queue.id)).all())
        c = dict(tx.session.execute(select(Campus.code, Campus.id)).all())
    return q, c


def new_shift(svc, admin, **kw):
    q, c = ids(svc)
    group = shifts.create_group(svc, by=admin, name=kw.pop("group", "测试班组"))
    values = {"name": "测试班", "group_id": group["id"], "campus_id": c["MAIN"], "slot_type": "am",
              "max_auto": 10, "typist_weight": 0.5, "queue_ids": [q["US-BREAST"], q["US-THYROID"]]} | kw
    return shifts.create_shift(svc, by=admin, **values)


def test_create_edit_and_list_a_shift(svc, actors):
    admin = actors["admin"]
    s = new_shift(svc, admin)
    assert (s["max_auto"], s["typist_weight"], s["slot_label"], len(s["queue_ids"])) == (10, 0.5, "上午", 2)
    q, _ = ids(svc)
    edited = shifts.update_shift(svc, s["id"], by=admin, max_auto=12, typist_weight=1, slot_type="all_day",
                                 queue_ids=[q["US-ABD"]])
    assert (edited["max_auto"], edited["typist_weight"], edited["slot_label"]) == (12, 1.0, "全天")
    assert edited["queue_ids"] == [q["US-ABD"]]
    assert any(x["id"] == s["id"] for x in shifts.list_shifts(svc, by=actors["nurse"]))


@pytest.mark.parametrize(("kw", "code"), [
    ({"typist_weight": 1.5}, "invalid_typist_weight"),
    ({"typist_weight": -0.2}, "invalid_typist_weight"),
    ({"max_auto": -3}, "invalid_max_auto"),
    ({"slot_type": "evening"}, "invalid_slot_type"),
    ({"queue_ids": []}, "shift_queues_required"),
    ({"max_auto": "x"}, "invalid_number"),
])
def test_invalid_shift_refused(svc, actors, kw, code):
    with pytest.raises(InvalidInput) as err:
        new_shift(svc, actors["admin"], **kw)
    assert err.value.code == code


def test_queue_of_another_campus_refused(svc, actors):
    q, _ = ids(svc)
    with pytest.raises(InvalidInput) as err:
        new_shift(svc, actors["admin"], queue_ids=[q["E-US"]])
    assert err.value.code == "queue_wrong_campus"


def test_only_admins_configure(svc, actors):
    with pytest.raises(Forbidden):
        shifts.create_group(svc, by=actors["nurse"], name="x")


def test_delete_unused_in_use_and_used_shift(svc, actors):
    admin = actors["admin"]
    unused = new_shift(svc, admin, group="甲")
    assert shifts.delete_shift(svc, unused["id"], by=admin)["deleted"]
    used = new_shift(svc, admin, group="乙")
    doc = sonographer(svc, admin)
    shift_sessions.open_session(svc, by=doc, shift_id=used["id"], room_id=room_id(svc, "US1"), with_typist=False)
    with pytest.raises(Conflict) as err:
        shifts.delete_shift(svc, used["id"], by=admin)
    assert err.value.code == "shift_in_use"
    with pytest.raises(Conflict):
        shifts.update_shift(svc, used["id"], by=admin, active=False)
    shift_sessions.close_session(svc, by=doc)
    out = shifts.delete_shift(svc, used["id"], by=admin)
    assert (out["deleted"], out["retired"]) == (False, True)  # history keeps its shift
    assert not [s for s in shifts.list_shifts(svc, by=admin, active_only=True) if s["id"] == used["id"]]
    with pytest.raises(NotFound):
        shift_sessions.open_session(svc, by=doc, shift_id=used["id"], room_id=room_id(svc, "US1"),
                                    with_typist=False)


def test_group_with_shifts_cannot_be_deleted(svc, actors):
    s = new_shift(svc, actors["admin"], group="丙")
    with pytest.raises(Conflict) as err:
        shifts.delete_group(svc, s["group_id"], by=actors["admin"])
    assert err.value.code == "shift_group_in_use"


def test_session_open_show_switch_and_close(svc, actors):
    sono = actors["sono"]
    assert shift_sessions.needs_choice(svc, sono)
    assert not shift_sessions.needs_choice(svc, actors["nurse"])
    am = shift_id(svc, "乳腺上午班")
    groups = shift_sessions.choices(svc, by=sono)
    rooms = [r["code"] for g in groups for s in g["shifts"] if s["id"] == am for r in s["rooms"]]
    assert rooms == ["US1", "US2", "US3"]
    s = shift_sessions.open_session(svc, by=sono, shift_id=am, room_id=room_id(svc, "US1"), with_typist=True)
    assert (s["room_code"], s["shift_name"], s["with_typist"], s["capacity"]) == ("US1", "乳腺上午班", True, 12)
    assert shift_sessions.current_session(svc, by=sono)["id"] == s["id"]
    assert not shift_sessions.needs_choice(svc, sono)
    s2 = shift_sessions.open_session(svc, by=sono, shift_id=am, room_id=room_id(svc, "US2"), with_typist=False)
    assert s2["capacity"] == 8
    closed = shift_sessions.close_session(svc, by=sono, reason="logout")
    assert (closed["id"], closed["end_reason"]) == (s2["id"], "logout")
    assert shift_sessions.current_session(svc, by=sono) is None


def test_room_not_in_shift_refused(svc, actors):
    with pytest.raises(InvalidInput):
        shift_sessions.open_session(svc, by=actors["sono"], shift_id=shift_id(svc, "乳腺上午班"),
                                    room_id=room_id(svc, "US7"), with_typist=False)


def test_room_taken_unless_handover(svc, actors):
    other = sonographer(svc, actors["admin"])
    am, us1 = shift_id(svc, "乳腺上午班"), room_id(svc, "US1")
    first = shift_sessions.open_session(svc, by=actors["sono"], shift_id=am, room_id=us1, with_typist=False)
    with pytest.raises(Conflict) as err:
        shift_sessions.open_session(svc, by=other, shift_id=am, room_id=us1, with_typist=False)
    assert err.value.code == "room_taken"
    shift_sessions.open_session(svc, by=other, shift_id=am, room_id=us1, with_typist=True, take_over=True)
    assert shift_sessions.current_session(svc, by=actors["sono"]) is None
    assert first["id"] != shift_sessions.current_session(svc, by=other)["id"]
