"""The data API's datasets beyond exams: reports, critical values, queue tickets and waits, ultrasound room
load, cockpit figures, the upload datasets' declarations; the dictionary; every call audited and counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.db.models import AuditEntry
from backend.domain.data_datasets import DATASETS
from backend.domain.health_cloud import CLOUD_STATUS_LABELS
from backend.services import audit as audit_log
from backend.services.base import transaction
from backend.services.data_api import access, formats, read, usage
from backend.services.orders import registration
from backend.services.patient_flow import calling, shift_sessions
from backend.services.reporting import critical_values
from tests.data_api_helpers import key_actor, settle
from tests.reporting_helpers import FINDINGS, IMPRESSION, approved, exam_at
from tests.us_helpers import check_in_us, room_id, shift_id, sonographer


def test_reports_give_the_approved_text_and_structured_sections(svc, actors):
    exam = approved(svc, actors)
    exam_at(svc, actors, "completed")  # no report yet: not in the dataset
    (item,) = read.read(svc, "reports", {}, by=key_actor(svc, actors["admin"])).items
    assert item["exam_id"] == exam["exam_id"]
    assert (item["findings"], item["impression"]) == (FINDINGS, IMPRESSION)
    assert item["sections"] == {"findings": FINDINGS, "impression": IMPRESSION}
    assert item["text"] == f"检查所见：{FINDINGS}\n诊断意见：{IMPRESSION}"
    assert (item["reporting_doctor"], item["approving_doctor"]) == ("医师 刘洋", "主任医师 赵强")


def test_critical_values_carry_the_notification_time(svc, actors, clock):
    exam = exam_at(svc, actors, "completed")
    cv = critical_values.raise_value(svc, exam["exam_id"], finding="张力性气胸", by=actors["doctor"])
    clock.advance(minutes=7)
    critical_values.notify(svc, cv["id"], to="胸外科 王医生", via="phone", read_back=True, by=actors["doctor"])
    key = key_actor(svc, actors["admin"])
    (item,) = read.read(svc, "critical_values", {"status": ["notified"]}, by=key).items
    assert (item["notify_minutes"], item["notified_via"], item["read_back"]) == (7.0, "phone", True)
    assert item["updated_at"] == item["notified_at"]
    assert read.read(svc, "critical_values", {"status": ["raised"]}, by=key).items == []


def test_queue_tickets_with_their_wait_and_cancellations_as_tombstones(svc, actors, clock):
    doc = sonographer(svc, actors["admin"])
    shift_sessions.open_session(svc, by=doc, shift_id=shift_id(svc, "乳腺上午班"), room_id=room_id(svc, "US1"),
                                with_typist=False)
    start = (clock() - timedelta(seconds=1)).isoformat()
    first = check_in_us(svc, actors)
    second = check_in_us(svc, actors)
    clock.advance(minutes=12)
    calling.call_next(svc, room_id(svc, "US1"), by=doc)
    calling.start_exam(svc, first["ticket"]["ticket_id"], by=doc)
    registration.cancel(svc, second["exam_id"], reason="患者离开", by=actors["clerk"])
    clock.advance(minutes=3)
    key = key_actor(svc, actors["admin"])
    rows = {r["id"]: r for r in read.read(svc, "queue_tickets", {}, by=key).items}
    done, gone = rows[first["ticket"]["ticket_id"]], rows[second["ticket"]["ticket_id"]]
    assert (done["wait_minutes"], done["room_code"], done["call_count"]) == (12.0, "US1", 1)
    assert (gone["status"], gone["wait_minutes"]) == ("cancelled", None)
    settle(clock)
    page = read.read(svc, "queue_tickets", {"updated_since": [start]}, by=key)
    assert {i["id"] for i in page.items} == set(rows)
    assert [(t["id"], t["reason"]) for t in page.tombstones] == [(second["ticket"]["ticket_id"], "cancelled")]


def test_ultrasound_room_load_is_a_snapshot_of_open_rooms(svc, actors):
    doc = sonographer(svc, actors["admin"], "孙医生")
    shift_sessions.open_session(svc, by=doc, shift_id=shift_id(svc, "乳腺上午班"), room_id=room_id(svc, "US2"),
                                with_typist=True)
    check_in_us(svc, actors)
    page = read.read(svc, "us_room_load", {"open": ["true"]}, by=key_actor(svc, actors["admin"]))
    assert page.mode == "snapshot"
    (room,) = page.items
    assert (room["room_code"], room["capacity"], room["load"], room["waiting"]) == ("US2", 12, 1, 1)
    assert room["doctor"].startswith("孙医生")
    closed = read.read(svc, "us_room_load", {"open": ["false"]}, by=key_actor(svc, actors["admin"])).items
    assert closed
    assert all(r["doctor"] is None and r["capacity"] == 0 for r in closed)


def test_room_load_counts_the_line_that_carries_over_midnight(svc, actors, clock):
    clock.set(datetime(2026, 11, 27, 15, 40, tzinfo=UTC))  # 23:40 in Shanghai
    doc = sonographer(svc, actors["admin"], "孙医生")
    shift_sessions.open_session(svc, by=doc, shift_id=shift_id(svc, "乳腺上午班"), room_id=room_id(svc, "US2"),
                                with_typist=True)
    check_in_us(svc, actors)
    clock.advance(minutes=30)  # 00:10 the next day: the patient still waits in US2 (as dispatch counts her)
    (room,) = read.read(svc, "us_room_load", {"open": ["true"]}, by=key_actor(svc, actors["admin"])).items
    assert (room["load"], room["waiting"]) == (1, 1)


def test_cockpit_figures_as_a_long_table(svc, actors):
    approved(svc, actors)
    key = key_actor(svc, actors["admin"])
    rows = read.read(svc, "cockpit", {"limit": ["1000"]}, by=key).items
    figures = {r["figure"] for r in rows}
    assert figures == {f"CP-{n}" for n in range(1, 16)}
    assert len({r["id"] for r in rows}) == len(rows)
    dx = [r for r in rows if r["figure"] == "CP-5" and r["dimension"] == "DX"]
    assert dx == [dict(dx[0], series="value", value=1.0, unit="例", dimension_label="DR")]
    cp9 = read.read(svc, "cockpit", {"figure": ["CP-9"]}, by=key).items
    assert [(r["series"], r["unit"]) for r in cp9] == [("rate", "比例")]


def test_every_dataset_is_read_and_the_upload_ledgers_sync_by_their_own_change_time(svc, actors):
    assert {d.kind for d in DATASETS.values()} == {"rows", "snapshot"}  # none is declared without data
    assert {n for n, d in DATASETS.items() if d.kind == "rows"} == set(read.READERS)
    for name in ("cloud_uploads", "cadre_uploads"):  # their rows: tests/services/test_data_api_{cloud,cadre}.py
        assert read.READERS[name].updated is not None
        page = read.read(svc, name, {"state": ["failed"]}, by=key_actor(svc, actors["admin"]))
        assert (page.mode, page.items, page.note) == ("list", [], "")
    cloud = next(x for x in formats.dictionary()["datasets"] if x["name"] == "cloud_uploads")
    state = next(f for f in cloud["fields"] if f["name"] == "state")
    assert {c["code"]: c["label"] for c in state["codes"]} == {s.value: label for s, label in
                                                              CLOUD_STATUS_LABELS.items()}
    assert "skipped" in cloud["sync"]
    assert "cancelled" in cloud["sync"]


def test_the_dictionary_names_every_field_in_chinese_with_its_codes():
    d = formats.dictionary()
    assert [x["name"] for x in d["datasets"]] == list(DATASETS)
    for ds in d["datasets"]:
        assert ds["label"]
        assert ds["scope"] == f"data.read:{ds['name']}"
        for f in ds["fields"]:
            assert f["label"], f
            assert f["type_label"], f
            if f["type"] == "code":
                assert f["codes"], f
                assert all(c["label"] for c in f["codes"]), f
    exams = next(x for x in d["datasets"] if x["name"] == "exams")
    status = next(f for f in exams["fields"] if f["name"] == "status")
    assert {"code": "completed", "label": "检查完成"} in status["codes"]
    assert {e["code"] for e in d["errors"]} >= {"invalid_cursor", "unknown_field", "unknown_filter",
                                                 "invalid_limit", "dataset_forbidden", "rate_limited"}


def test_every_call_is_audited_with_the_key_name_and_counted_per_day(svc, actors, clock):
    key = key_actor(svc, actors["admin"], name="OA低代码")
    access.record_call(svc, key, "exams", status=200, rows=40)
    access.record_call(svc, key, "exams", status=400, code="unknown_filter")
    clock.advance(days=1)
    access.record_call(svc, key, "reports", status=200, rows=3)
    access.record_call(svc, None, "exams", status=401, code="api_key_required", ip="10.1.2.3")
    view = usage.overview(svc, by=actors["admin"], days=3)
    row = next(k for k in view["keys"] if k["id"] == key.id)
    assert row["calls"] == [0, 2, 1]
    assert (row["total"], row["errors"], row["rows"]) == (3, 1, 43)
    assert (row["last_dataset"], row["last_status"]) == ("reports", 200)
    assert row["datasets"][:2] == ["exams", "reports"]
    audit_log.flush_reads(svc)  # reads are audited in batches (backend/services/audit.py)
    with transaction(svc, readonly=True) as tx:
        audit = [(a.actor, a.entity_id, a.details) for a in tx.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "data_api").order_by(AuditEntry.id))]
    assert [(actor, ds, d["key_name"], d["status"]) for actor, ds, d in audit] == [
        (f"api_key:{key.id}", "exams", "OA低代码", 200), (f"api_key:{key.id}", "exams", "OA低代码", 400),
        (f"api_key:{key.id}", "reports", "OA低代码", 200), ("anonymous", "exams", "", 401)]
    assert audit[1][2]["code"] == "unknown_filter"
