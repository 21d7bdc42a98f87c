"""Kiosk check-in and room desk through HTTP, with a Socket.IO client listening on the queue room."""

from __future__ import annotations

from backend.realtime import socketio
from backend.services import auth
from backend.services.patient_flow import kiosks
from tests.services.kiosk_helpers import exam_for, new_patient


def key_for(svc, actors, terminal=None):
    raw = auth.create_api_key(svc, f"kiosk {terminal}", ["exam.operate"], by=actors["admin"])
    if terminal:
        kiosks.bind_key(svc, terminal, raw, by=actors["admin"])
    return raw


def test_checkin_api_one_result_per_exam_and_events(app, client, actors):
    svc = app.extensions["radops"]
    p = new_patient()
    ok = exam_for(svc, actors["clerk"], p)
    unpaid = exam_for(svc, actors["clerk"], p, "DR-CHEST", hour=None, paid=False)
    raw = key_for(svc, actors, "K1")
    sio = socketio.test_client(app, query_string="queue=1&campus=1")
    resp = client.post("/api/kiosk/checkin", json={"terminal": "K1", "method": "barcode", "code": ok["accession"]},
                       headers={"X-API-Key": raw})
    assert resp.status_code == 200
    results = {r["exam_id"]: r for r in resp.get_json()["results"]}
    assert results[ok["exam_id"]]["ok"]
    assert results[ok["exam_id"]]["ticket"]["code"].startswith("CT")
    assert results[unpaid["exam_id"]]["reason"] == "not_paid"
    assert "缴费" in results[unpaid["exam_id"]]["message"]
    received = [m for m in sio.get_received() if m["name"] == "ticket_created"]
    assert received
    assert p.name not in str(received[0]["args"])
    sio.disconnect()


def test_checkin_api_refuses_anonymous_and_foreign_keys(app, client, actors):
    svc = app.extensions["radops"]
    body = {"terminal": "K1", "method": "mrn", "code": "X1"}
    assert client.post("/api/kiosk/checkin", json=body).status_code == 401
    key_for(svc, actors, "K1")
    other = key_for(svc, actors)
    resp = client.post("/api/kiosk/checkin", json=body, headers={"X-API-Key": other})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "wrong_terminal_key"
    reader = auth.create_api_key(svc, "reader", ["exam.read"], by=actors["admin"])
    assert client.post("/api/kiosk/checkin", json=body, headers={"X-API-Key": reader}).status_code == 403


def test_checkin_api_unknown_code_and_validation(app, client, actors):
    raw = key_for(app.extensions["radops"], actors)
    resp = client.post("/api/kiosk/checkin", json={"terminal": "K1", "method": "mrn", "code": "NOPE"},
                       headers={"X-API-Key": raw})
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "unknown_code"
    bad = client.post("/api/kiosk/checkin", json={"terminal": "K1", "method": "face", "code": "1"},
                      headers={"X-API-Key": raw})
    assert bad.status_code == 400
    look = client.post("/api/kiosk/K1/lookup", json={"method": "mrn", "code": "NOPE"}, headers={"X-API-Key": raw})
    assert look.status_code == 404


def test_room_desk_api_flow(app, client, actors, auth_actions):
    svc = app.extensions["radops"]
    p = new_patient()
    e = exam_for(svc, actors["clerk"], p)
    auth_actions.login("tech")
    r = client.post("/api/desk/checkin", json={"method": "mrn", "code": p.mrn}).get_json()["results"][0]
    assert r["ok"]
    state = client.get(f"/api/rooms/{1}/queue").get_json()
    assert [w["exam_id"] for w in state["waiting"]] == [e["exam_id"]]
    # Staff check identity at the door: the desk's queue names the patient in full (issue 14.9).
    assert (state["waiting"][0]["name"], state["waiting"][0]["mrn"]) == (p.name, p.mrn)
    called = client.post("/api/rooms/1/call-next", json={}).get_json()
    tid = called["ticket_id"]
    assert client.post(f"/api/tickets/{tid}/recall", json={}).get_json()["call_count"] == 2
    assert client.post(f"/api/tickets/{tid}/start", json={}).status_code == 200
    assert client.post(f"/api/tickets/{tid}/finish", json={}).get_json()["status"] == "done"
    again = client.post("/api/rooms/1/call-next", json={})
    assert again.status_code == 404
    assert again.get_json()["error"]["code"] == "queue_empty"
    assert client.post(f"/api/tickets/{tid}/transfer", json={"room_id": 2}).status_code == 409
