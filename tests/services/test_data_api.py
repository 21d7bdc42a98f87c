"""Data API reads (LC-1): fields, masking, filters, sorting, keyset pages by signed cursor, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.services.data_api import read
from tests.data_api_helpers import ALL_READ, key_actor
from tests.helpers import register
from tests.reporting_helpers import exam_at


def _exams(svc, actors, n, **kw):
    return [register(svc, actors["clerk"], **kw) for _ in range(n)]


def test_a_page_has_the_asked_fields_and_masks_personal_data(svc, actors):
    register(svc, actors["clerk"], name="欧阳明月")
    key = key_actor(svc, actors["admin"])
    page = read.read(svc, "exams", {"fields": ["accession,patient_name,status"]}, by=key)
    assert page.masked is True
    (item,) = page.items
    assert list(item) == ["id", "accession", "patient_name", "status"]  # the key always travels
    assert item["patient_name"] == "欧**月"
    assert item["status"] == "registered"


def test_a_key_with_data_pii_sees_names_and_numbers(svc, actors):
    from backend.domain.registration import OrderData, PatientData
    from backend.services.orders import registration

    patient = PatientData(mrn="P900001", name="李四", sex="F", id_card="110101199003071234", phone="13800138000")
    registration.register(svc, OrderData(patient=patient, item_code="DR-CHEST"), by=actors["clerk"])
    fields = {"fields": ["patient_name,patient_id_card,patient_phone"]}
    masked = read.read(svc, "exams", fields, by=key_actor(svc, actors["admin"])).items[0]
    assert masked == {"id": masked["id"], "patient_name": "李*", "patient_id_card": "****1234",
                      "patient_phone": "****8000"}
    clear = read.read(svc, "exams", fields, by=key_actor(svc, actors["admin"], ["data.read:exams", "data.pii"]))
    assert clear.masked is False
    assert clear.items[0]["patient_id_card"] == "110101199003071234"
    assert clear.items[0]["patient_name"] == "李四"


def test_filters_by_code_any_of_and_by_time_range(svc, actors, clock):
    _exams(svc, actors, 2)
    exam_at(svc, actors, "in_progress")
    clock.advance(days=1)
    late = register(svc, actors["clerk"], patient_class="emergency")
    key = key_actor(svc, actors["admin"])
    both = read.read(svc, "exams", {"status": ["registered,in_progress"]}, by=key).items
    assert len(both) == 4
    assert [i["status"] for i in read.read(svc, "exams", {"status": ["in_progress"]}, by=key).items] == \
        ["in_progress"]
    day2 = clock().astimezone(svc.tz).date().isoformat()
    since_day2 = read.read(svc, "exams", {"created_at_from": [day2]}, by=key).items
    assert [i["id"] for i in since_day2] == [late["exam_id"]]
    before = read.read(svc, "exams", {"created_at_to": [day2], "modality": ["DX"]}, by=key).items
    assert len(before) == 3
    assert read.read(svc, "exams", {"patient_class": ["inpatient", "emergency"]}, by=key).items[0]["id"] == \
        late["exam_id"]


def test_keyset_pages_cover_every_row_once_in_the_asked_order(svc, actors, clock):
    made = []
    for _ in range(7):
        made.append(register(svc, actors["clerk"])["exam_id"])
        clock.advance(minutes=1)
    key = key_actor(svc, actors["admin"])
    seen, cursor = [], None
    for _ in range(10):
        args = {"sort": ["-created_at"], "limit": ["3"], "fields": ["created_at"], "status": ["registered"]}
        if cursor:
            args["cursor"] = [cursor]
        page = read.read(svc, "exams", args, by=key)
        seen += [i["id"] for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            assert page.body()["next_updated_since"] is not None
            break
        assert page.body()["next_updated_since"] is None
    assert seen == list(reversed(made))


def test_a_cursor_is_signed_and_bound_to_its_query(svc, actors):
    _exams(svc, actors, 3)
    key = key_actor(svc, actors["admin"])
    cursor = read.read(svc, "exams", {"limit": ["1"]}, by=key).next_cursor
    assert cursor
    body, sig = cursor.split(".")
    forged = ("A" if body[0] != "A" else "B") + body[1:] + "." + sig
    for bad in (forged, "not-a-cursor", cursor + "x"):
        with pytest.raises(InvalidInput) as e:
            read.read(svc, "exams", {"limit": ["1"], "cursor": [bad]}, by=key)
        assert e.value.code == "invalid_cursor"
    with pytest.raises(InvalidInput) as e:
        read.read(svc, "exams", {"limit": ["1"], "status": ["registered"], "cursor": [cursor]}, by=key)
    assert e.value.code == "invalid_cursor"
    # The same query goes on from where it was.
    assert read.read(svc, "exams", {"limit": ["1"], "cursor": [cursor]}, by=key).items


@pytest.mark.parametrize(("args", "code"), [
    ({"colour": ["red"]}, "unknown_filter"),
    ({"item_name": ["胸部"]}, "unknown_filter"),  # a field that does not filter
    ({"fields": ["accession,shoe_size"]}, "unknown_field"),
    ({"sort": ["shoe_size"]}, "unknown_field"),
    ({"sort": ["status"]}, "invalid_sort"),
    ({"limit": ["1001"]}, "invalid_limit"),
    ({"limit": ["0"]}, "invalid_limit"),
    ({"limit": ["many"]}, "invalid_limit"),
    ({"status": ["finished"]}, "invalid_filter_value"),
    ({"id": ["99999999999999999999999"]}, "invalid_filter_value"),
    ({"created_at_from": ["yesterday"]}, "invalid_filter_value"),
    ({"created_at_from": ["9999-12-31T23:00:00-05:00"]}, "invalid_filter_value"),
    ({"cadre_health": ["maybe"]}, "invalid_filter_value"),
    ({"patient_mrn": [""] * 101}, "invalid_filter_value"),  # more values than the OpenAPI's maxItems, if empty
    ({"format": ["xml"]}, "invalid_format"),
    ({"updated_since": ["last week"]}, "invalid_updated_since"),
    ({"updated_since": ["2026-11-26T00:00:00"]}, "invalid_updated_since"),  # no offset
    ({"updated_since": ["2026-11-26"], "sort": ["-created_at"]}, "invalid_sort"),
    ({"updated_since": ["2026-11-01"]}, "updated_since_too_old"),
])
def test_bad_queries_are_refused_with_a_stable_code(svc, actors, args, code):
    key = key_actor(svc, actors["admin"])
    with pytest.raises(InvalidInput) as e:
        read.read(svc, "exams", args, by=key)
    assert e.value.code == code
    assert e.value.message  # a Chinese sentence for the platform's builder


def test_a_key_reads_only_its_datasets_and_staff_sessions_are_refused(svc, actors):
    key = key_actor(svc, actors["admin"], ["data.read:reports"])
    with pytest.raises(Forbidden) as e:
        read.read(svc, "exams", {}, by=key)
    assert e.value.code == "dataset_forbidden"
    assert read.read(svc, "reports", {}, by=key).items == []
    with pytest.raises(Unauthenticated) as e2:
        read.read(svc, "exams", {}, by=actors["admin"])
    assert e2.value.code == "api_key_required"
    with pytest.raises(NotFound) as e3:
        read.read(svc, "patients", {}, by=key_actor(svc, actors["admin"], ALL_READ))
    assert e3.value.code == "unknown_dataset"


def test_exam_rows_carry_times_from_the_timeline(svc, actors, clock):
    exam = register(svc, actors["clerk"])
    from backend.domain.exam_flow import Trigger
    from backend.services import timeline

    clock.advance(minutes=5)
    timeline.apply(svc, exam["exam_id"], Trigger.CHECK_IN, by=actors["tech"])
    clock.advance(minutes=10)
    timeline.apply(svc, exam["exam_id"], Trigger.START, by=actors["tech"])
    started = clock()
    clock.advance(minutes=7)
    timeline.apply(svc, exam["exam_id"], Trigger.COMPLETE, by=actors["tech"])
    item = read.read(svc, "exams", {}, by=key_actor(svc, actors["admin"])).items[0]
    assert item["started_at"] == started.isoformat()
    assert item["completed_at"] == (started + timedelta(minutes=7)).isoformat()
    assert item["updated_at"] == item["completed_at"]
    assert item["report_due_at"] is not None
