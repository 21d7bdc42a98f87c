"""Reports and critical values over HTTP: the whole flow, each refusal as JSON with its code, the PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from backend.realtime import socketio
from tests.reporting_helpers import FINDINGS, IMPRESSION, exam_at, submitted


def as_user(auth_actions, username):
    auth_actions.logout()
    assert auth_actions.login(username).status_code == 200


def error(resp, status, code):
    assert resp.status_code == status, resp.get_json()
    body = resp.get_json()["error"]
    assert body["code"] == code
    assert body["message"]
    return body["message"]


def test_write_submit_approve_print_over_http(app, client, auth_actions, actors):
    svc = app.extensions["radops"]
    exam = exam_at(svc, actors, "completed", name="李秀英")
    eid = exam["exam_id"]
    as_user(auth_actions, "doctor")
    sio = socketio.test_client(app, flask_test_client=client, query_string="exams=1")
    view = client.get(f"/api/exams/{eid}/report").get_json()
    assert view["report"] is None
    assert view["can"]["save"] is True
    r = client.put(f"/api/exams/{eid}/report", json={"sections": {"findings": FINDINGS, "impression": IMPRESSION}})
    assert r.status_code == 200
    assert r.get_json()["status"] == "draft"
    lock = r.get_json()["report"]["lock"]
    r = client.post(f"/api/exams/{eid}/report/submit", json={"lock": lock})
    assert r.get_json()["status"] == "submitted"
    as_user(auth_actions, "senior")
    assert [i["id"] for i in client.get("/api/reports/review").get_json()["items"]] == [eid]
    r = client.post(f"/api/exams/{eid}/report/approve", json={})
    assert r.status_code == 200
    assert r.get_json()["status"] == "approved"
    versions = client.get(f"/api/exams/{eid}/report/versions").get_json()["versions"]
    assert versions[0]["approved_by"] == "主任医师 赵强"
    pdf = client.get(f"/api/exams/{eid}/report.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "李秀英" in text
    assert FINDINGS[:10] in text
    names = [m["name"] for m in sio.get_received()]
    assert {"report_drafted", "report_submitted", "report_approved", "report_printed"} <= set(names)
    sio.disconnect()


def test_report_errors_have_codes(app, client, auth_actions, actors):
    svc = app.extensions["radops"]
    early = exam_at(svc, actors, "arrived")
    exam = submitted(svc, actors, author="senior")
    eid = exam["exam_id"]
    as_user(auth_actions, "doctor")
    error(client.put(f"/api/exams/{early['exam_id']}/report", json={"sections": {}}), 409, "exam_not_started")
    error(client.put(f"/api/exams/{eid}/report", json={"sections": {"findings": "x"}}), 409, "stale_report")
    error(client.post(f"/api/exams/{eid}/report/approve", json={}), 403, "forbidden")
    error(client.get(f"/api/exams/{eid}/report.pdf"), 409, "report_not_final")
    error(client.get("/api/exams/999999/report"), 404, "exam_not_found")
    as_user(auth_actions, "senior")
    assert "自己" in error(client.post(f"/api/exams/{eid}/report/approve", json={}), 403, "self_approval")
    as_user(auth_actions, "head")
    error(client.post(f"/api/exams/{eid}/report/return", json={"reason": " "}), 400, "reason_required")
    error(client.post(f"/api/exams/{eid}/report/amend", json={"reason": "x"}), 409, "invalid_transition")
    error(client.post(f"/api/exams/{eid}/report/submit", json={}), 403, "not_author")
    r = client.post(f"/api/exams/{eid}/report/return", json={"reason": "请补充随访建议"})
    assert r.get_json()["status"] == "returned"
    as_user(auth_actions, "typist")
    error(client.put(f"/api/exams/{eid}/report", json={"sections": {}, "lock": r.get_json()["report"]["lock"]}),
          400, "author_required")


@pytest.mark.parametrize("path", ["/api/exams/1/report", "/api/critical-values/open", "/api/reports/worklist"])
def test_anonymous_callers_are_refused(client, path):
    error(client.get(path), 401, "unauthenticated")


def test_cookie_writes_must_be_json(client, auth_actions):
    as_user(auth_actions, "doctor")
    assert client.post("/api/exams/1/report/submit", data="lock=1").status_code == 403


def test_critical_value_flow_and_errors(app, client, auth_actions, actors, clock):
    svc = app.extensions["radops"]
    exam = submitted(svc, actors)
    eid = exam["exam_id"]
    as_user(auth_actions, "doctor")
    error(client.post(f"/api/exams/{eid}/critical-values", json={"finding": ""}), 400, "finding_required")
    r = client.post(f"/api/exams/{eid}/critical-values", json={"finding": "主动脉夹层", "urgency": "urgent"})
    assert r.status_code == 201
    cid = r.get_json()["id"]
    as_user(auth_actions, "senior")
    error(client.post(f"/api/exams/{eid}/report/approve", json={}), 409, "critical_not_notified")
    error(client.post(f"/api/critical-values/{cid}/acknowledge", json={}), 409, "not_notified")
    error(client.post(f"/api/critical-values/{cid}/notify", json={"to": "王医生", "via": "fax"}), 400,
          "invalid_channel")
    clock.advance(minutes=10)
    r = client.post(f"/api/critical-values/{cid}/notify", json={"to": "心外科 王医生", "via": "phone",
                                                                 "read_back": True})
    assert r.status_code == 200
    assert r.get_json()["within_limit"] is True
    error(client.post(f"/api/critical-values/{cid}/notify", json={"to": "王医生", "via": "phone"}), 409,
          "already_notified")
    assert [i["id"] for i in client.get("/api/critical-values/open").get_json()["items"]] == [cid]
    assert client.post(f"/api/critical-values/{cid}/acknowledge", json={"note": "已处理"}).status_code == 200
    assert client.get("/api/critical-values/open").get_json()["items"] == []
    assert client.post(f"/api/exams/{eid}/report/approve", json={}).get_json()["status"] == "approved"
    error(client.post("/api/critical-values/999999/notify", json={"to": "x", "via": "phone"}), 404,
          "critical_not_found")
    as_user(auth_actions, "typist")
    error(client.get("/api/critical-values/open"), 403, "forbidden")
