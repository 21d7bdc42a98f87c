"""Staff Socket.IO clients: a signed-in exam list hears exam events from room "exams"; anonymous ones do not."""

from __future__ import annotations

from typing import Any

from backend.realtime import socketio

BODY = {"patient": {"mrn": "RT0001", "name": "实时患者", "sex": "M"}, "item_code": "CT-LN-TR"}


def _events(sio: Any, name: str) -> list[dict[str, Any]]:
    return [m["args"][0] for m in sio.get_received() if m["name"] == name]


def test_signed_in_exam_list_hears_exam_registered(app, client, auth_actions):
    auth_actions.login("clerk")
    staff = socketio.test_client(app, flask_test_client=client, query_string="exams=1")
    try:
        assert staff.is_connected()
        out = client.post("/api/exams", json=BODY).get_json()
        registered = _events(staff, "exam_registered")
        assert [e["accession"] for e in registered] == [out["accession"]]
        assert registered[0]["status"] == "registered"
        assert registered[0]["exam_id"] == out["exam_id"]
        assert "实时患者" not in str(registered)  # events carry ids, never names
        client.post(f"/api/exams/{out['exam_id']}/cancel", json={"reason": "测试取消"})
        assert [e["status"] for e in _events(staff, "exam_cancelled")] == ["cancelled"]
    finally:
        staff.disconnect()


def test_anonymous_client_is_not_joined_to_exams(app, client, auth_actions):
    anonymous = socketio.test_client(app, query_string="exams=1")
    staff_client = app.test_client()
    staff_client.post("/api/auth/login", json={"username": "clerk", "password": "clerk123456"})
    try:
        assert anonymous.is_connected()
        body = BODY | {"patient": {"mrn": "RT0002", "name": "某"}}
        assert staff_client.post("/api/exams", json=body).status_code == 201
        assert anonymous.get_received() == []
    finally:
        anonymous.disconnect()


def test_staff_without_the_query_joins_no_exam_room(app, client, auth_actions):
    auth_actions.login("clerk")
    quiet = socketio.test_client(app, flask_test_client=client)
    try:
        client.post("/api/exams", json=BODY | {"patient": {"mrn": "RT0003", "name": "某"}})
        assert _events(quiet, "exam_registered") == []
    finally:
        quiet.disconnect()
