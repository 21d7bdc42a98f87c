"""Ultrasound dispatch rules: the capacity function, the room choice and who chooses a shift at sign-in."""

from __future__ import annotations

import random

import pytest

from backend.domain.dispatch import RoomLoad, capacity, choose_room, distribute, needs_shift_choice, validate_shift
from backend.domain.errors import InvalidInput


@pytest.mark.parametrize(("max_auto", "weight", "typist", "expected"), [
    (10, 0.5, False, 10),   # no typist: the shift's maximum
    (10, 0.0, True, 10),    # weight 0: a typist adds nothing
    (10, 1.0, True, 20),    # weight 1: a typist doubles the room
    (10, 0.5, True, 15),
    (10, 0.3, True, 13),    # 12.999... must not round down to 12
    (7, 0.5, True, 10),     # 10.5 rounds down: never promise more than configured
    (0, 1.0, True, 0),      # a shift with maximum 0 takes no auto-triage
    (1, 0.99, True, 1),
])
def test_capacity(max_auto, weight, typist, expected):
    assert capacity(max_auto, weight, with_typist=typist) == expected


def R(i, load, cap, code=None):
    return RoomLoad(room_id=i, code=code or f"US{i}", capacity=cap, load=load)


@pytest.mark.parametrize(("rooms", "chosen", "reason"), [
    ([], None, "no_open_session"),                                   # no session open: the pool
    ([R(1, 10, 10), R(2, 15, 15)], None, "all_full"),                # every room full: the pool
    ([R(1, 0, 0)], None, "all_full"),                                # capacity 0 never takes a patient
    ([R(1, 3, 10), R(2, 1, 10)], 2, "fair_share"),            # lower load wins
    ([R(1, 4, 20), R(2, 3, 10)], 1, "fair_share"),            # relative to capacity
    ([R(1, 0, 10), R(2, 0, 20)], 2, "fair_share"),            # tie: more free places
    ([R(2, 2, 10, "US2"), R(1, 2, 10, "US1")], 1, "fair_share"),  # tie: lower room code
    ([R(1, 9, 10), R(2, 10, 10)], 1, "fair_share"),           # the last free place
])
def test_choose_room(rooms, chosen, reason):
    choice = choose_room(rooms)
    assert (choice.room_id, choice.reason) == (chosen, reason)
    explained = choice.explain()
    assert len(explained["candidates"]) == len(rooms)


def test_session_closing_mid_day_drops_the_room_from_the_candidates():
    rooms = [R(1, 2, 10), R(2, 5, 10)]
    assert choose_room(rooms).room_id == 1
    assert choose_room([r for r in rooms if r.room_id != 1]).room_id == 2  # room 1's session closed


def test_loads_follow_capacities_within_one_patient():
    rnd = random.Random(7)
    for _ in range(2000):
        caps = [rnd.randint(1, 120) for _ in range(rnd.randint(2, 12))]
        n = rnd.randint(0, sum(caps))
        loads = distribute(caps, n)
        assert sum(loads) == n
        total = sum(caps)
        assert all(load <= cap for load, cap in zip(loads, caps, strict=True))
        assert max(abs(load - n * cap / total) for load, cap in zip(loads, caps, strict=True)) < 1


def test_beyond_total_capacity_the_rest_waits():
    assert distribute([2, 3], 10) == [2, 3]


@pytest.mark.parametrize(("values", "code"), [
    ({"name": " "}, "shift_name_required"),
    ({"max_auto": -1}, "invalid_max_auto"),
    ({"typist_weight": 1.01}, "invalid_typist_weight"),
    ({"typist_weight": -0.1}, "invalid_typist_weight"),
    ({"typist_weight": float("nan")}, "invalid_typist_weight"),
    ({"slot_type": "evening"}, "invalid_slot_type"),
])
def test_validate_shift(values, code):
    ok = {"name": "上午班", "max_auto": 10, "typist_weight": 0.5, "slot_type": "am"}
    validate_shift(**ok)
    validate_shift(**(ok | {"typist_weight": 0}))
    validate_shift(**(ok | {"typist_weight": 1}))
    with pytest.raises(InvalidInput) as err:
        validate_shift(**(ok | values))
    assert err.value.code == code


def test_who_chooses_a_shift():
    assert needs_shift_choice("USD", ["radiologist"])
    assert not needs_shift_choice("USD", ["typist"])
    assert not needs_shift_choice("RAD", ["radiologist"])
    assert not needs_shift_choice(None, ["technologist"])
