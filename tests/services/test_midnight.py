"""Issue 14.1: open tickets carry over the day change (a 24-hour emergency CT works through midnight), and a
ticket that no line holds any more is recovered at the desk. The clock goes 23:59 -> 00:01 (site time)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from backend.db.models import QueueTicket
from backend.services.base import transaction
from backend.services.patient_flow import calling, checkin, kiosks, screens
from tests.services.kiosk_helpers import exam_for, new_patient
from tests.services.test_calling import room_id

# Site time is Asia/Shanghai (UTC+8): 15:54 UTC is 23:54 on 27 November.
BEFORE_MIDNIGHT = datetime(2026, 11, 27, 15, 54, tzinfo=UTC)


def _emergency(svc, actors, clock, name="急诊王"):
    """A stat emergency head CT (walk-in, no slot) checked in at the nurse desk at 23:54."""
    clock.set(BEFORE_MIDNIGHT)
    p = new_patient(name=name)
    exam = exam_for(svc, actors["clerk"], p, "CT-HEAD", hour=None, patient_class="emergency", priority="stat")
    result = checkin.check_in_exam(svc, exam["exam_id"], None, by=actors["nurse"])
    assert result["ok"], result
    return p, exam, result["ticket"]


def test_an_open_ticket_stays_in_line_shown_and_callable_after_midnight(svc, actors, clock):
    ct3 = room_id(svc, "CT3")
    p, _, ticket = _emergency(svc, actors, clock)
    clock.set(datetime(2026, 11, 27, 15, 59, tzinfo=UTC))  # 23:59
    assert [t["code"] for t in calling.room_state(svc, ct3, by=actors["tech"])["waiting"]] == [ticket["code"]]
    clock.set(datetime(2026, 11, 27, 16, 1, tzinfo=UTC))  # 00:01 the next day
    state = calling.room_state(svc, ct3, by=actors["tech"])
    assert [t["code"] for t in state["waiting"]] == [ticket["code"]]
    hall = screens.screen_state(svc, "HALL-MAIN")
    assert ticket["code"] in [t["code"] for t in hall["waiting"]]
    # A re-scan at the kiosk: checked in already, with its number (not a refusal without one).
    again = checkin.lookup(svc, "K1", "mrn", p.mrn, by=kiosks.kiosk_actor(svc, "K1"))["exams"][0]
    assert again["reason"] == "already_checked_in"
    assert again["ticket"]["code"] == ticket["code"]
    called = calling.call_next(svc, ct3, by=actors["tech"])
    assert called["code"] == ticket["code"]
    calling.mark_missed(svc, called["ticket_id"], by=actors["tech"])
    hall = screens.screen_state(svc, "HALL-MAIN")
    assert ticket["code"] in [t["code"] for t in hall["missed"]]
    assert [t["code"] for t in calling.room_state(svc, ct3, by=actors["tech"])["missed"]] == [ticket["code"]]


def test_numbering_restarts_without_reusing_a_carried_over_number(svc, actors, clock):
    _, _, yesterday = _emergency(svc, actors, clock)
    clock.set(datetime(2026, 11, 27, 16, 1, tzinfo=UTC))
    _, _, today = _emergency(svc, actors, clock, name="急诊李")
    assert yesterday["code"] == "CT001"
    clock.set(datetime(2026, 11, 27, 16, 2, tzinfo=UTC))
    p = new_patient(name="急诊赵")
    exam = exam_for(svc, actors["clerk"], p, "CT-HEAD", hour=None, patient_class="emergency", priority="stat")
    fresh = checkin.check_in_exam(svc, exam["exam_id"], None, by=actors["nurse"])["ticket"]
    codes = {yesterday["code"], today["code"], fresh["code"]}
    assert len(codes) == 3  # the new day's numbers skip CT001 while yesterday's CT001 waits


def test_a_stale_ticket_is_recovered_at_the_desk_not_at_the_kiosk(svc, actors, clock):
    ct3 = room_id(svc, "CT3")
    p, exam, ticket = _emergency(svc, actors, clock)
    clock.set(datetime(2026, 11, 29, 1, 0, tzinfo=UTC))  # two days later, 09:00
    assert calling.room_state(svc, ct3, by=actors["tech"])["waiting"] == []  # stale: in no line
    at_kiosk = checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosks.kiosk_actor(svc, "K1"))["results"][0]
    assert at_kiosk["reason"] == "nurse_desk"
    at_desk = checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])["results"][0]
    assert at_desk["ok"], at_desk
    assert at_desk["ticket"]["ticket_id"] == ticket["ticket_id"]
    assert at_desk["ticket"]["code"] == "CT001"  # today's first number
    with transaction(svc, readonly=True) as tx:
        row = tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam["exam_id"])).one()
        assert row.day.isoformat() == "2026-11-29"
    assert [t["code"] for t in calling.room_state(svc, ct3, by=actors["tech"])["waiting"]] == ["CT001"]
    assert calling.call_next(svc, ct3, by=actors["tech"])["ticket_id"] == ticket["ticket_id"]
