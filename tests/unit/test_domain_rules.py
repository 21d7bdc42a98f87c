"""Pure rules: slot choice (LN-2), numbering, permissions, critical-value timing, settings coercion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.domain.critical import notified_within
from backend.domain.errors import Forbidden, InvalidInput
from backend.domain.exam_query import ExamFilter, decode_cursor, encode_cursor
from backend.domain.numbering import accession_number, ticket_code
from backend.domain.permissions import Perm, permissions_of, require
from backend.domain.registration import PatientData, check_slot_choice, slot_required, validate_patient
from backend.domain.settings_catalog import catalog, coerce


@pytest.mark.parametrize(
    ("needs_slot", "patient_class", "expected"),
    [(True, "outpatient", True), (True, "inpatient", True), (True, "emergency", False),
     (False, "outpatient", False), (False, "emergency", False)],
)
def test_slot_required(needs_slot, patient_class, expected):
    assert slot_required(needs_slot=needs_slot, patient_class=patient_class) is expected


def test_item_without_slot_refuses_a_slot():
    with pytest.raises(InvalidInput) as exc:
        check_slot_choice(needs_slot=False, patient_class="outpatient", slot_id=3)
    assert exc.value.code == "slot_not_needed"


def test_item_with_slot_requires_one():
    with pytest.raises(InvalidInput) as exc:
        check_slot_choice(needs_slot=True, patient_class="outpatient", slot_id=None)
    assert exc.value.code == "slot_required"
    check_slot_choice(needs_slot=True, patient_class="emergency", slot_id=None)


def test_numbering():
    assert accession_number(date(2026, 1, 2), 42) == "RA2026010200042"
    assert ticket_code("CT", 15) == "CT015"
    assert ticket_code("CT", 1234) == "CT1234"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("mrn", "", "invalid_mrn"), ("mrn", "有中文", "invalid_mrn"), ("name", " ", "invalid_name"),
     ("sex", "X", "invalid_sex"), ("id_card", "12345", "invalid_id_card"), ("phone", "abc", "invalid_phone")],
)
def test_patient_validation(field, value, code):
    data = {"mrn": "M1", "name": "李四", "sex": "F"} | {field: value}
    with pytest.raises(InvalidInput) as exc:
        validate_patient(PatientData(**data))
    assert exc.value.code == code


def test_permissions_union_and_refusal():
    perms = permissions_of(["radiologist", "nurse"])
    assert Perm.REPORT_WRITE in perms
    assert Perm.TRIAGE in perms
    assert Perm.REPORT_APPROVE not in perms
    assert permissions_of(["no-such-role"]) == frozenset()
    with pytest.raises(Forbidden) as exc:
        require({p.value for p in perms}, Perm.REPORT_APPROVE)
    assert "审核报告" in exc.value.message


def test_notified_exactly_at_the_limit_counts():
    raised = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    limit = timedelta(minutes=10)
    assert notified_within(raised, raised + limit, limit)
    assert not notified_within(raised, raised + limit + timedelta(seconds=1), limit)
    assert not notified_within(raised, None, limit)


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor(["2026-01-01T00:00:00+00:00", 5])) == ["2026-01-01T00:00:00+00:00", 5]
    with pytest.raises(InvalidInput):
        decode_cursor("not-a-cursor!!")


def test_filter_refuses_reversed_dates():
    with pytest.raises(InvalidInput):
        ExamFilter(date_from=date(2026, 2, 1), date_to=date(2026, 1, 1))


def test_setting_coercion():
    defn = catalog()["er.reminder_lead_min"]
    assert coerce(defn, "20") == 20
    with pytest.raises(InvalidInput):
        coerce(defn, 0)
    with pytest.raises(InvalidInput):
        coerce(defn, "abc")
    assert coerce(catalog()["masking.enabled"], "off") is False
