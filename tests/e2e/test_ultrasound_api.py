"""Ultrasound dispatch through the test client: shift config API, shift choice after the sign-in form,
logout ending the shift, the triage board and manual assignment, with the Socket.IO event."""

from __future__ import annotations

import re

from backend.realtime import socketio
from backend.services import auth
from backend.services.patient_flow import shift_sessions
from tests.conftest import PASSWORDS
from tests.us_helpers import room_id, shift_id


def _form_login(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _shift(client, name):
    return next(s for s in client.get("/api/ultrasound/shifts").get_json() if s["name"] == name)


def test_shift_config_api_round_trip_and_errors(client, auth_actions):
    assert auth_actions.login("admin").status_code == 200
    g = client.post("/api/ultrasound/shift-groups", json={"name": "夜班组"})
    assert g.status_code == 201
    base = _shift(client, "腹部上午班")
    body = {"name": "腹部夜班", "group_id": g.get_json()["id"], "campus_id": base["campus_id"], "slot_type": "night",
            "max_auto": 6, "typist_weight": 0.5, "queue_ids": base["queue_ids"]}
    r = client.post("/api/ultrasound/shifts", json=body)
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    bad = client.patch(f"/api/ultrasound/shifts/{sid}", json={"typist_weight": 1.2})
    assert bad.status_code == 400
    assert client.patch(f"/api/ultrasound/shifts/{sid}", json={"max_auto": 7}).get_json()["max_auto"] == 7
    busy = client.delete(f"/api/ultrasound/shift-groups/{g.get_json()['id']}", json={})
    assert busy.get_json()["error"]["code"] == "shift_group_in_use"
    assert client.delete(f"/api/ultrasound/shifts/{sid}", json={}).get_json()["deleted"] is True
    auth_actions.logout()
    assert auth_actions.login("nurse").status_code == 200
    assert client.post("/api/ultrasound/shift-groups", json={"name": "x"}).status_code == 403


def test_sonographer_chooses_a_shift_after_login_and_logout_ends_it(client):
    r = _form_login(client, "sono", "sono123456")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/panels/shift")
    assert client.get("/").headers["Location"].endswith("/panels/shift")
    shift = _shift(client, "乳腺上午班")
    s = client.post("/api/ultrasound/sessions", json={"shift_id": shift["id"], "room_id": _room(client, "US1"),
                                                      "with_typist": True})
    assert s.status_code == 201, s.get_json()
    assert s.get_json()["capacity"] == 12
    assert client.get("/").headers["Location"].endswith("/panels/exams")  # chosen: the usual start page
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/logout").get_data(as_text=True)).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    _form_login(client, "sono", "sono123456")
    assert client.get("/api/ultrasound/sessions/current").get_json()["session"] is None  # ended at logout


def test_api_logout_ends_the_shift(client, auth_actions):
    auth_actions.login("sono")
    shift = _shift(client, "腹部上午班")
    assert client.post("/api/ultrasound/sessions", json={"shift_id": shift["id"],
                                                         "room_id": _room(client, "US7")}).status_code == 201
    auth_actions.logout()
    auth_actions.login("sono")
    assert client.get("/api/ultrasound/sessions/current").get_json()["session"] is None


def _room(client, code):
    return room_id(client.application.extensions["radops"], code)


def test_board_and_manual_assign_with_live_event(app, client, auth_actions):
    svc = app.extensions["radops"]
    sono = auth.login(svc, "sono", PASSWORDS["sono"])  # works on: the session stays open
    shift_sessions.open_session(svc, by=sono, shift_id=shift_id(svc, "乳腺上午班"), room_id=_room(client, "US1"),
                                with_typist=False)
    auth_actions.login("clerk")
    for i in range(9):
        patient = {"mrn": f"E2EUS{i}", "name": "孙小梅"}
        r = client.post("/api/exams", json={"patient": patient, "item_code": "US-BREAST"})
        assert r.status_code == 201, r.get_json()
        assert client.post("/api/desk/checkin", json={"method": "mrn", "code": f"E2EUS{i}"}).status_code == 200
    auth_actions.logout()
    auth_actions.login("nurse")
    live = socketio.test_client(app, flask_test_client=client, query_string="triage=1")
    board = client.get("/api/ultrasound/triage").get_json()
    us1 = next(r for r in board["rooms"] if r["room_code"] == "US1")
    assert (us1["load"], us1["capacity"], us1["doctor"]) == (8, 8, "超声医师 吴敏")
    assert len(board["pool"]) == 1
    r = client.post(f"/api/ultrasound/tickets/{board['pool'][0]['ticket_id']}/assign", json={"room_id": us1["room_id"]})
    assert r.status_code == 200, r.get_json()
    assert any(m["name"] == "ticket_triaged" and m["args"][0]["over_capacity"] for m in live.get_received())
    live.disconnect()


def test_take_over_needs_an_examining_role_and_the_nurse_uses_the_room_action(client, auth_actions, app):
    """Issue 16 item 6 and issue 15 item 9 over HTTP."""
    svc = app.extensions["radops"]
    sono = auth.login(svc, "sono", PASSWORDS["sono"])
    us1 = room_id(svc, "US1")
    shift_sessions.open_session(svc, by=sono, shift_id=shift_id(svc, "乳腺上午班"), room_id=us1, with_typist=False)
    body = {"shift_id": shift_id(svc, "乳腺上午班"), "room_id": us1, "take_over": True}
    for who in ("clerk", "typist"):
        assert auth_actions.login(who).status_code == 200
        r = client.post("/api/ultrasound/sessions", json=body)
        assert r.status_code == 403, r.get_json()
        assert r.get_json()["error"]["code"] == "examiner_only"
        auth_actions.logout()
    assert shift_sessions.current_session(svc, by=sono) is not None  # nobody ended the sonographer's session
    assert auth_actions.login("nurse").status_code == 200
    paused = client.post(f"/api/ultrasound/rooms/{us1}/session/pause", json={})
    assert paused.status_code == 200, paused.get_json()
    assert paused.get_json()["paused"] is True
    assert client.post(f"/api/ultrasound/rooms/{us1}/session/close", json={}).status_code == 200
    assert shift_sessions.current_session(svc, by=sono) is None
    assert client.post(f"/api/ultrasound/rooms/{us1}/session/close", json={}).get_json()["error"]["code"] == \
        "no_open_session"
