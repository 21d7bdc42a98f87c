"""Cockpit and reminder APIs through the test client (roles, as_of, drill, export, acknowledge)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.services.reporting import er_reminders
from tests.cockpit_builders import assign_author, make_exam, walk
from tests.conftest import FIXED_NOW

FIGURES = [f"CP-{i}" for i in range(1, 16)]


def test_cockpit_answers_every_figure(client: Any, auth_actions: Any) -> None:
    assert client.get("/api/cockpit").status_code == 401
    auth_actions.login("doctor")
    assert client.get("/api/cockpit").status_code == 403
    auth_actions.logout()
    auth_actions.login("head")
    body = client.get("/api/cockpit").get_json()
    assert all(f in body for f in FIGURES)
    assert body["as_of"] == FIXED_NOW.isoformat()
    past = (FIXED_NOW - timedelta(days=1)).isoformat()
    assert client.get("/api/cockpit", query_string={"as_of": past}).status_code == 403


def test_as_of_for_admin(client: Any, auth_actions: Any) -> None:
    auth_actions.login("admin")
    past = "2026-11-01T00:00:00+08:00"
    body = client.get("/api/cockpit", query_string={"as_of": past}).get_json()
    assert body["as_of"] == "2026-10-31T16:00:00+00:00"
    bad = client.get("/api/cockpit", query_string={"as_of": "2030-01-01T00:00:00+08:00"})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "as_of_future"


def test_drill_and_export(client: Any, auth_actions: Any) -> None:
    auth_actions.login("head")
    d = client.get("/api/cockpit/drill", query_string={"figure": "CP-13", "key": "ordered:2026-11-27"})
    assert d.status_code == 200
    assert d.get_json()["figure"] == "CP-13"
    assert client.get("/api/cockpit/drill", query_string={"figure": "CP-99"}).status_code == 400
    csv = client.get("/api/cockpit/export", query_string={"panel": "CP-11", "format": "csv"})
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    xlsx = client.get("/api/cockpit/export", query_string={"panel": "CP-15", "format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx.data[:2] == b"PK"


def test_reminders_list_and_acknowledge(app: Any, client: Any, auth_actions: Any, clock: Any) -> None:
    svc = app.extensions["radops"]
    from backend.services import auth

    doctor = auth.login(svc, "doctor", "doctor123456")
    exam_id = make_exam(svc, clock, FIXED_NOW - timedelta(minutes=30), "CT", patient_class="emergency")
    walk(svc, clock, exam_id, [("registered", FIXED_NOW - timedelta(minutes=25)),
                               ("started", FIXED_NOW - timedelta(minutes=20)), ("completed", FIXED_NOW)])
    assign_author(svc, exam_id, doctor.id or 0, FIXED_NOW)
    clock.set(FIXED_NOW + timedelta(minutes=55))
    er_reminders.scan(svc)
    auth_actions.login("doctor")
    [r] = client.get("/api/reminders").get_json()["reminders"]
    assert r["minutes_left"] == 5
    assert client.post(f"/api/reminders/{r['id']}/snooze", json={}).status_code == 400
    assert client.post(f"/api/reminders/{r['id']}/ack", json={}).get_json()["state"] == "acknowledged"
    assert client.get("/api/reminders").get_json()["reminders"] == []
