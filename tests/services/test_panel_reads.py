"""Read services behind the staff panels: the desk's patient look-up and the exam detail dialog."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from backend.db.models import AuditEntry
from backend.domain.errors import Forbidden, NotFound
from backend.domain.registration import PatientData
from backend.services import audit
from backend.services.base import transaction
from backend.services.orders import exam_detail, patient_lookup, registration
from tests.helpers import order, register


def test_lookup_finds_a_known_patient_and_audits_the_read(svc, actors):
    o = replace(order("DR-CHEST"), patient=PatientData(mrn="LK0001", name="王建华", sex="M", phone="13800000000",
                                                       cadre_health=True))
    registration.register(svc, o, by=actors["clerk"])
    found = patient_lookup.find_by_mrn(svc, " LK0001 ", by=actors["clerk"])
    assert found is not None
    assert (found["name"], found["sex"], found["phone"], found["cadre_health"]) == ("王建华", "M", "13800000000", True)
    assert found["exam_count"] == 1
    audit.flush_reads(svc)  # read rows are queued (backend/services/audit.py)
    with transaction(svc, readonly=True) as tx:
        actions = tx.session.scalars(select(AuditEntry.action).where(
            AuditEntry.entity == "patient", AuditEntry.entity_id == str(found["id"]))).all()
    assert actions == ["read"]


def test_lookup_of_unknown_or_blank_mrn_is_none_and_needs_the_desk_role(svc, actors):
    assert patient_lookup.find_by_mrn(svc, "NOBODY", by=actors["clerk"]) is None
    assert patient_lookup.find_by_mrn(svc, "   ", by=actors["clerk"]) is None
    assert patient_lookup.find_by_mrn(svc, "X" * 40, by=actors["clerk"]) is None
    with pytest.raises(Forbidden):
        patient_lookup.find_by_mrn(svc, "LK0001", by=actors["doctor"])


def test_detail_has_the_timeline_with_labels_and_staff_names(svc, actors, clock):
    out = register(svc, actors["clerk"], "CT-LN-TR")
    clock.advance(minutes=5)
    registration.cancel(svc, out["exam_id"], reason="患者要求取消", by=actors["clerk"])
    d = exam_detail.detail(svc, out["exam_id"], by=actors["doctor"])
    assert d["exam"]["accession"] == out["accession"]
    assert d["exam"]["status"] == "cancelled"
    assert [e["label"] for e in d["events"]] == ["开单", "登记", "取消检查"]
    assert {e["who"] for e in d["events"]} == {actors["clerk"].name}
    assert d["events"][0]["at_local"] == "2026-11-27 09:00:00"
    assert d["events"][-1]["details"]["reason"] == "患者要求取消"
    with pytest.raises(NotFound):
        exam_detail.detail(svc, 99999999, by=actors["doctor"])
