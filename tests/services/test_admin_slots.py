"""Admin slot upkeep: idempotent generation, capacity never below booked, deactivate only when empty."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from backend.db.models import Slot
from backend.domain.admin_rules import band_of, plan_slots
from backend.domain.errors import Conflict, Forbidden, InvalidInput
from backend.services.admin import org as admin_org
from backend.services.admin import slots as admin_slots
from backend.services.base import transaction
from backend.services.orders import registration
from tests.helpers import first_slot, register


def _queue(svc, actor, code):
    return next(q["id"] for q in admin_org.list_queues(svc, by=actor) if q["code"] == code)


def _count(svc, queue_id):
    with transaction(svc, readonly=True) as tx:
        return tx.session.scalar(select(func.count()).select_from(Slot).where(Slot.queue_id == queue_id))


def test_generation_is_idempotent_and_never_duplicates(svc, actors):
    admin = actors["admin"]
    q = _queue(svc, admin, "DR")  # the demo hospital has no DR slots
    start = date(2026, 11, 30)  # a Monday
    first = admin_slots.generate(svc, q, date_from=start, date_to=start + timedelta(days=6), hours=[8, 9, 14],
                                 capacity=12, weekdays=range(5), by=admin)
    assert first == {"created": 15, "existing": 0}
    again = admin_slots.generate(svc, q, date_from=start, date_to=start + timedelta(days=6), hours=[8, 9, 14, 15],
                                 capacity=12, weekdays=range(5), by=admin)
    assert again == {"created": 5, "existing": 15}
    assert _count(svc, q) == 20
    grid = admin_slots.list_slots(svc, q, start, start, by=admin)
    assert [(s["start"], s["band"], s["capacity"], s["booked"]) for s in grid] == [
        ("08:00", "am", 12, 0), ("09:00", "am", 12, 0), ("14:00", "pm", 12, 0), ("15:00", "pm", 12, 0)]


def test_generation_skips_existing_seeded_slots(svc, actors):
    admin = actors["admin"]
    q = _queue(svc, admin, "CT")
    before = _count(svc, q)
    today = svc.clock().astimezone(svc.tz).date()
    out = admin_slots.generate(svc, q, date_from=today, date_to=today, hours=[8, 9, 18], capacity=5, by=admin)
    assert out == {"created": 1, "existing": 2}
    assert _count(svc, q) == before + 1


@pytest.mark.parametrize(("kw", "code"), [
    ({"hours": []}, "invalid_hours"),
    ({"hours": [25]}, "invalid_hours"),
    ({"capacity": 0}, "invalid_capacity"),
    ({"date_to": date(2026, 11, 1)}, "invalid_date_range"),
    ({"date_to": date(2027, 6, 1)}, "date_range_too_long"),
])
def test_generation_input_is_validated(svc, actors, kw, code):
    args = {"date_from": date(2026, 12, 1), "date_to": date(2026, 12, 2), "hours": [8], "capacity": 5} | kw
    with pytest.raises(InvalidInput) as exc:
        admin_slots.generate(svc, _queue(svc, actors["admin"], "DR"), by=actors["admin"], **args)
    assert exc.value.code == code


def test_capacity_cannot_go_below_booked(svc, actors):
    admin, clerk = actors["admin"], actors["clerk"]
    slot = first_slot(svc, clerk, "CT-CHEST")
    register(svc, clerk, "CT-CHEST", slot_id=slot["id"])
    register(svc, clerk, "CT-CHEST", slot_id=slot["id"])
    with pytest.raises(Conflict) as exc:
        admin_slots.set_capacity(svc, slot["id"], 1, by=admin)
    assert exc.value.code == "capacity_below_booked"
    assert "已预约 2 人" in exc.value.message
    assert admin_slots.set_capacity(svc, slot["id"], 2, by=admin)["capacity"] == 2
    # Full now: the registration desk is refused the next place.
    with pytest.raises(Conflict):
        register(svc, clerk, "CT-CHEST", slot_id=slot["id"])


def test_slot_with_bookings_cannot_be_deactivated(svc, actors):
    admin, clerk = actors["admin"], actors["clerk"]
    slot = first_slot(svc, clerk, "CT-CHEST")
    out = register(svc, clerk, "CT-CHEST", slot_id=slot["id"])
    with pytest.raises(Conflict) as exc:
        admin_slots.set_active(svc, slot["id"], False, by=admin)
    assert exc.value.code == "slot_has_bookings"
    registration.cancel(svc, out["exam_id"], reason="患者改期", by=clerk)
    assert admin_slots.set_active(svc, slot["id"], False, by=admin)["active"] is False
    day = date.fromisoformat(slot["starts_at"][:10])
    assert slot["id"] not in {s["id"] for s in registration.available_slots(svc, "CT-CHEST", day, by=clerk)}
    assert admin_slots.set_active(svc, slot["id"], True, by=admin)["active"] is True


def test_slot_changes_need_admin(svc, actors):
    slot = first_slot(svc, actors["clerk"], "CT-CHEST")
    with pytest.raises(Forbidden):
        admin_slots.set_capacity(svc, slot["id"], 20, by=actors["clerk"])
    with pytest.raises(Forbidden):
        admin_slots.generate(svc, 1, date_from=date(2026, 12, 1), date_to=date(2026, 12, 1), hours=[8], capacity=1,
                             by=actors["nurse"])


def test_plan_slots_uses_local_hours_and_bands(svc):
    plan = plan_slots(date(2026, 12, 1), date(2026, 12, 1), hours=[8, 13, 19], length_min=30, tz=svc.tz)
    assert [p.starts_at.hour for p in plan] == [0, 5, 11]  # UTC for 08:00, 13:00, 19:00 Shanghai
    assert [p.band for p in plan] == ["am", "pm", "night"]
    assert (plan[0].ends_at - plan[0].starts_at).seconds == 1800
    assert band_of(11) == "am"
    assert band_of(12) == "pm"
