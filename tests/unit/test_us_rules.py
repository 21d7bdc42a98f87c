"""Ultrasound dispatch rules of issue 15: examiner roles, shift windows, priority classes, the cap, reasons."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from backend.domain.dispatch import (
    RoomLoad,
    choose_room,
    may_examine,
    may_pass_cap,
    may_supervise_rooms,
    placement_text,
    priority_classes,
    session_ends_at,
    shift_choice_required,
    shift_window,
)
from backend.domain.errors import InvalidInput

SH = ZoneInfo("Asia/Shanghai")


def at(h: int, m: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=SH)


def test_only_examiners_open_sessions_and_only_nurse_or_admin_supervise():
    assert may_examine({"radiologist"})
    assert may_examine({"technologist"})
    assert not may_examine({"clerk"})
    assert not may_examine({"typist"})
    assert not may_examine({"nurse"})
    assert may_supervise_rooms({"nurse"})
    assert may_supervise_rooms({"admin"})
    assert not may_supervise_rooms({"radiologist", "clerk"})


def test_shift_gate_is_a_setting():
    assert shift_choice_required(True, "USD", {"radiologist"})
    assert not shift_choice_required(False, "USD", {"radiologist"})
    assert not shift_choice_required(True, "RAD", {"radiologist"})
    assert not shift_choice_required(True, "USD", {"nurse"})


def test_window_defaults_by_slot_type_and_own_times_win():
    assert shift_window("am") == (time(8), time(12))
    assert shift_window("pm", "13:30", "18:00") == (time(13, 30), time(18))
    with pytest.raises(InvalidInput):
        shift_window("am", "8h", None)


def test_session_ends_at_window_end_plus_grace():
    assert session_ends_at(at(8, 5), shift_window("am"), grace_min=30) == at(12, 30)
    assert session_ends_at(at(7, 40), shift_window("am"), grace_min=0) == at(12)  # before the window: same day


def test_session_never_passes_the_day_change_and_a_late_choice_ends_at_midnight():
    assert session_ends_at(at(20), (time(8), time(23, 50)), grace_min=60) == at(0, day=28)
    assert session_ends_at(at(15), shift_window("am"), grace_min=30) == at(0, day=28)


def test_night_window_crosses_midnight():
    night = shift_window("night")  # 17:30-08:00
    assert session_ends_at(at(18), night, grace_min=15) == at(8, 15, day=28)
    assert session_ends_at(at(2, day=28), night, grace_min=15) == at(8, 15, day=28)


def test_priority_classes_and_their_settings():
    base = {"age": 80, "elderly_age": 0, "pregnant": True, "pregnant_on": False, "military": False,
            "military_on": False}
    assert priority_classes(patient_class="emergency", priority="stat", **base) == ["critical", "emergency"]
    assert priority_classes(patient_class="outpatient", priority="routine", **base) == []
    assert priority_classes(patient_class="outpatient", priority="routine",
                            **(base | {"elderly_age": 75, "pregnant_on": True})) == ["elderly", "pregnant"]
    assert priority_classes(patient_class="outpatient", priority="routine", **(base | {"elderly_age": 81})) == []
    assert priority_classes(patient_class="outpatient", priority="routine", **(base | {"military": True})) == []
    assert priority_classes(patient_class="outpatient", priority="routine",
                            **(base | {"military": True, "military_on": True})) == ["military"]
    assert may_pass_cap(["emergency"], setting=True)
    assert not may_pass_cap(["emergency"], setting=False)
    assert not may_pass_cap([], setting=True)


def test_priority_patient_passes_a_full_room_only_when_allowed():
    full = [RoomLoad(1, "US1", 8, 8), RoomLoad(2, "US2", 12, 12)]
    assert choose_room(full).room_id is None
    over = choose_room(full, over_cap=True)
    assert (over.room_id, over.reason) == (2, "priority_over_cap")  # 13/12 < 9/8
    assert choose_room([RoomLoad(1, "US1", 0, 0)], over_cap=True).room_id is None  # capacity 0: closed to auto


def test_placement_text_is_chinese_with_the_room_and_the_reason():
    rooms = {3: "超声3诊室", 4: "超声4诊室"}
    assert placement_text("ticket_pooled", {"mode": "auto", "reason": "all_full"}, rooms) == \
        "自动分诊，进入待分诊池，原因：各诊室均已达自动分诊上限，进入待分诊池"
    text = placement_text("ticket_triaged", {"mode": "auto", "reason": "fair_share", "chosen_room_id": 3}, rooms)
    assert text == "自动分诊，分到 超声3诊室，原因：按各诊室负荷均衡分配"
    manual = placement_text("ticket_triaged", {"mode": "manual", "chosen_room_id": 4, "from_room_id": 3,
                                               "actor_name": "护士甲", "over_capacity": True}, rooms)
    assert manual == "手工分诊，分到 超声4诊室（原 超声3诊室），操作人 护士甲，超过自动分诊上限"
    assert "all_full" not in text
    assert "fair_share" not in text
