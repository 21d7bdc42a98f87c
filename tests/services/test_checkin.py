"""Self check-in: every rule and every failure reason, multi-exam check-in, events and the e-voucher port."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from backend.domain.errors import NotFound
from backend.ports import InsuredPerson
from backend.services import settings_store
from backend.services.orders import registration
from backend.services.patient_flow import checkin, kiosks
from integrations.errors import PartnerUnavailable
from integrations.insurance.client import HttpInsuranceResolver
from integrations.insurance.emulator import InsuranceEmulator
from tests.services.kiosk_helpers import exam_for, new_patient


@pytest.fixture
def kiosk(svc):
    return kiosks.kiosk_actor(svc, "K1")


def one(result, exam_id):
    return next(r for r in result["results"] if r["exam_id"] == exam_id)


def test_mrn_check_in_creates_ticket_with_queue_prefix(svc, actors, kiosk):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p)
    out = checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk)
    r = one(out, e["exam_id"])
    assert r["ok"]
    assert r["reason"] is None
    assert re.fullmatch(r"CT\d{3}", r["ticket"]["code"])
    assert r["ticket"]["queue_name"] == "CT检查"
    assert r["people_ahead"] == 0
    assert out["masked_name"] == "张*明"


def test_barcode_accepts_accession_and_patient_card(svc, actors, kiosk):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p)
    looked = checkin.lookup(svc, "K1", "barcode", e["accession"], by=kiosk)
    assert [x["exam_id"] for x in looked["exams"]] == [e["exam_id"]]
    assert checkin.lookup(svc, "K1", "barcode", p.mrn, by=kiosk)["patient_id"] == looked["patient_id"]


def test_unknown_code(svc, kiosk):
    with pytest.raises(NotFound) as err:
        checkin.check_in(svc, "K1", "barcode", "NO-SUCH-CODE", by=kiosk)
    assert err.value.code == "unknown_code"
    assert "未找到" in err.value.message


def test_the_lung_nodule_reconstruction_is_not_listed_to_the_patient(svc, actors, kiosk):
    """Issue 14.8: an item done without the patient present is not the patient's to check in."""
    p = new_patient()
    ln = exam_for(svc, actors["clerk"], p, "CT-LN-TR", hour=None)
    ct = exam_for(svc, actors["clerk"], p)
    listed = [x["exam_id"] for x in checkin.lookup(svc, "K1", "mrn", p.mrn, by=kiosk)["exams"]]
    assert listed == [ct["exam_id"]]
    assert ln["exam_id"] not in [r["exam_id"] for r in checkin.check_in(svc, None, "mrn", p.mrn,
                                                                        by=actors["nurse"])["results"]]


@pytest.mark.parametrize(("setup", "terminal", "reason"), [
    ({"paid": False}, "K1", "not_paid"),
    ({"days": 1}, "K1", "not_today"),
    ({"hour": 15}, "K1", "too_early"),
    ({}, "K3", "wrong_campus"),
    ({"item": "US-ABD", "hour": None}, "K2", "wrong_terminal"),
])
def test_each_refusal_reason(svc, actors, kiosk, setup, terminal, reason):
    p = new_patient()
    kw = dict(setup)
    e = exam_for(svc, actors["clerk"], p, kw.pop("item", "CT-CHEST"), **kw)
    r = one(checkin.check_in(svc, terminal, "mrn", p.mrn, by=kiosks.kiosk_actor(svc, terminal)), e["exam_id"])
    assert not r["ok"]
    assert r["reason"] == reason
    assert re.search(r"[\u4e00-\u9fff]", r["message"])


def test_too_late_after_the_configured_window(svc, actors, kiosk, clock):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p)  # 09:00 slot
    settings_store.put(svc, "kiosk.late_after_min", 30, by=actors["admin"])
    clock.advance(minutes=31)
    assert one(checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk), e["exam_id"])["reason"] == "too_late"


def test_early_window_is_a_setting(svc, actors, kiosk):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p, hour=13)
    assert one(checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk), e["exam_id"])["reason"] == "too_early"
    settings_store.put(svc, "kiosk.early_window_min", 300, by=actors["admin"])
    assert one(checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk), e["exam_id"])["ok"]


def test_cancelled_and_already_checked_in(svc, actors, kiosk):
    p = new_patient()
    a = exam_for(svc, actors["clerk"], p)
    b = exam_for(svc, actors["clerk"], p, "DR-CHEST", hour=None)
    registration.cancel(svc, a["exam_id"], reason="患者要求", by=actors["clerk"])
    first = checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk)
    assert one(first, a["exam_id"])["reason"] == "cancelled"
    assert one(first, b["exam_id"])["ok"]
    assert one(checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk), b["exam_id"])["reason"] == "already_checked_in"


def test_several_exams_at_once_one_fails_one_succeeds(svc, actors, kiosk, notifier):
    p = new_patient()
    ok = exam_for(svc, actors["clerk"], p)
    unpaid = exam_for(svc, actors["clerk"], p, "DR-CHEST", hour=None, paid=False)
    out = checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk)
    assert one(out, ok["exam_id"])["ok"]
    assert one(out, unpaid["exam_id"])["reason"] == "not_paid"
    created = [e for e in notifier.sent if e.name == "ticket_created" and "exams" in e.rooms]
    assert len(created) == 1
    public = [e for e in notifier.sent if e.name == "ticket_created" and "exams" not in e.rooms]
    assert public
    assert "accession" not in public[0].payload
    ev = created[0]
    assert {"triage", "exams", "dashboard"} <= set(ev.rooms)
    assert {r.split(":")[0] for r in public[0].rooms} >= {"queue", "campus"}
    assert {"ticket_id", "exam_id", "queue_id", "room_id", "campus_id", "code", "status"} <= set(ev.payload)
    assert p.name not in str(ev.payload)


def test_emergency_is_not_held_to_the_time_window(svc, actors, kiosk):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p, hour=None, item="DR-CHEST", patient_class="emergency")
    r = one(checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk), e["exam_id"])
    assert r["ok"]
    assert r["ticket"]["priority"] == "urgent"


def test_desk_check_in_ignores_the_time_window(svc, actors):
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p, hour=15)
    r = one(checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"]), e["exam_id"])
    assert r["ok"]


def test_evoucher_through_the_insurance_emulator(svc, actors, kiosk):
    emu = InsuranceEmulator().start()
    try:
        svc.ports = replace(svc.ports, insurance=HttpInsuranceResolver(httpx.Client(base_url=emu.url, timeout=5)))
        p = new_patient(id_card="330102198001011234")
        e = exam_for(svc, actors["clerk"], p)
        emu.add_voucher("QR-DEMO-1", InsuredPerson(id_no="330102198001011234", name=p.name))
        r = one(checkin.check_in(svc, "K1", "evoucher", "QR-DEMO-1", by=kiosk), e["exam_id"])
        assert r["ok"]
        assert emu.requests[-1]["data"]["deviceType"] == "SelfService"
        with pytest.raises(NotFound):
            checkin.check_in(svc, "K1", "evoucher", "QR-UNKNOWN", by=kiosk)
    finally:
        emu.stop()


def test_evoucher_matches_the_insurance_number_and_asks_the_port_once(svc, actors, kiosk, ports):
    p = new_patient(insurance_no="IN330100000042")
    e = exam_for(svc, actors["clerk"], p)
    ports.insurance.add("QR-FAKE-1", InsuredPerson(id_no="330102199001019999", insurance_no="IN330100000042"))
    r = one(checkin.check_in(svc, "K1", "evoucher", " QR-FAKE-1 ", by=kiosk), e["exam_id"])
    assert r["ok"]
    assert ports.insurance.calls == ["QR-FAKE-1"]


def test_unknown_evoucher_is_an_unknown_code(svc, kiosk, ports):
    with pytest.raises(NotFound) as exc:
        checkin.lookup(svc, "K1", "evoucher", "QR-NOBODY", by=kiosk)
    assert exc.value.code == "unknown_code"
    assert ports.insurance.calls == ["QR-NOBODY"]


def test_insurance_platform_down_is_told_in_chinese_and_writes_nothing(svc, actors, kiosk, ports, notifier):
    p = new_patient(id_card="330102198001017777")
    e = exam_for(svc, actors["clerk"], p)
    ports.insurance.add("QR-DOWN", InsuredPerson(id_no="330102198001017777"))
    ports.insurance.fail_with = PartnerUnavailable("医保电子凭证服务暂不可用，请改用条码或病案号签到")
    sent_before = len(notifier.sent)
    with pytest.raises(PartnerUnavailable) as exc:
        checkin.check_in(svc, "K1", "evoucher", "QR-DOWN", by=kiosk)
    assert exc.value.status == 503
    assert "条码或病案号" in exc.value.message
    assert len(notifier.sent) == sent_before
    # The exam is untouched: the same patient checks in by MRN at once.
    assert one(checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk), e["exam_id"])["ok"]


def test_kiosk_actor_may_only_check_in(svc):
    actor = kiosks.kiosk_actor(svc, "K1")
    assert actor.perms == frozenset({"exam.operate"})


def test_a_kiosk_acts_only_as_itself(svc, kiosk):
    from backend.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        checkin.lookup(svc, "K2", "mrn", "ANY", by=kiosk)


def test_people_ahead_counted_in_sql_matches_the_ordering_rule(svc, actors, kiosk):
    """tickets.ahead_of counts in SQL what domain.queueing orders in Python: for every waiting ticket of a
    shuffled line (priorities, equal appointment times, equal line times, no line time, tickets pinned to a
    room) the count equals the ticket's index in line_of (the rule's order)."""
    import random
    from datetime import timedelta

    from sqlalchemy import select

    from backend.db.models import QueueRoom, QueueTicket
    from backend.services.base import transaction
    from backend.services.patient_flow import tickets

    ids = []
    for _ in range(14):
        p = new_patient()
        e = exam_for(svc, actors["clerk"], p, "DR-CHEST", hour=None)
        checkin.check_in(svc, "K1", "mrn", p.mrn, by=kiosk)
        ids.append(e["exam_id"])
    rng = random.Random(7)
    with transaction(svc) as tx:
        rows = list(tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id.in_(ids))))
        room = tx.session.scalars(select(QueueRoom.room_id).where(QueueRoom.queue_id == rows[0].queue_id)).first()
        base = tx.now
        for t in rows:
            t.priority = rng.choice(["stat", "urgent", "routine", "routine"])
            t.sort_at = base + timedelta(minutes=rng.choice([0, 0, 5]))
            t.line_at = rng.choice([None, base, base + timedelta(seconds=1)])
            t.checked_in_at = base + timedelta(seconds=rng.choice([0, 1, 2]))
            t.room_id = room if rng.random() < 0.3 else None
    with transaction(svc, readonly=True) as tx:
        rows = list(tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id.in_(ids))))
        assert {t.room_id for t in rows} == {room, None}
        assert len({(t.priority, t.sort_at) for t in rows}) < len(rows)  # ties for the later keys to break
        for t in rows:
            assert tickets.ahead_of(tx, t) == [x.id for x in tickets.line_of(tx, t)].index(t.id), t.id
