
"""POST /api/orders: the JSON intake of health-check orders (PE-1, PE-2) with API keys and idempotency."""

from __future__ import annotations

from backend.realtime import socketio
from backend.services import auth
from tests.conftest import PASSWORDS

BODY = {
    "control_id": "J-0001",
    "placer_order_no": "TJJ0001",
    "patient": {"mrn": "TJJ000001", "name": "孙晓燕", "sex": "F", "birth_date": "1986-04-02",
                "id_card": "11010519860402002X"},
    "item_code": "US-BREAST",
    "priority": "routine",
    "requested_at": "2026-11-27T10:00:00+08:00",
    "clinical_info": "年度健康体检",
}


def key(app, actors, scopes=("exam.register", "exam.read")):
    return {"X-API-Key": auth.create_api_key(app.extensions["radops"], "体检中心", list(scopes), by=actors["admin"])}


def test_new_order_201_then_repeat_200_with_the_same_body(app, client, actors):
    headers = key(app, actors)
    staff = app.test_client()
    staff.post("/api/auth/login", json={"username": "doctor", "password": PASSWORDS["doctor"]})
    sio = socketio.test_client(app, flask_test_client=staff, query_string="exams=1")
    first = client.post("/api/orders", json=BODY, headers=headers)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["ack"], body["code"], body["status"]) == ("AA", "order_new", "registered")
    assert body["accession"]
    assert body["exam_id"]
    assert "exam_registered" in [m["name"] for m in sio.get_received()]
    sio.disconnect()
    again = client.post("/api/orders", json=BODY, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == body
    listed = client.get("/api/exams", query_string={"placer_order": "TJJ0001", "patient_class": "health_check"},
                        headers=headers).get_json()["items"]
    assert [(e["id"], e["status_label"]) for e in listed] == [(body["exam_id"], "已登记")]
    log = client.get("/api/orders/messages", query_string={"placer_order": "TJJ0001"}, headers=headers).get_json()
    assert [m["control_id"] for m in log["messages"]] == ["J-0001"]


def test_same_placer_number_new_key_is_200_repeat(app, client, actors):
    headers = key(app, actors)
    first = client.post("/api/orders", json=BODY, headers=headers).get_json()
    resp = client.post("/api/orders", json=BODY | {"control_id": "J-0002"}, headers=headers)
    assert resp.status_code == 200
    assert (resp.get_json()["code"], resp.get_json()["exam_id"]) == ("order_repeat", first["exam_id"])


def test_key_reused_for_other_content_is_409(app, client, actors):
    headers = key(app, actors)
    client.post("/api/orders", json=BODY, headers=headers)
    resp = client.post("/api/orders", json=BODY | {"placer_order_no": "TJJ0009"}, headers=headers)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "duplicate_control_id"


def test_cancel_and_change(app, client, actors):
    headers = key(app, actors)
    new = client.post("/api/orders", json=BODY, headers=headers).get_json()
    changed = client.post("/api/orders", json=BODY | {"control_id": "J-XO", "action": "change", "priority": "urgent"},
                          headers=headers)
    assert changed.status_code == 201
    assert changed.get_json()["code"] == "order_change"
    cancel = {"control_id": "J-CA", "action": "cancel", "placer_order_no": "TJJ0001", "reason": "客户未到"}
    resp = client.post("/api/orders", json=cancel, headers=headers)
    assert resp.status_code == 201
    assert (resp.get_json()["status"], resp.get_json()["exam_id"]) == ("cancelled", new["exam_id"])
    unknown = client.post("/api/orders", json=cancel | {"control_id": "J-CA2", "placer_order_no": "NOPE"},
                          headers=headers)
    assert unknown.status_code == 409
    assert unknown.get_json()["error"]["code"] == "order_not_found"


def test_auth_and_scope(app, client, actors):
    assert client.post("/api/orders", json=BODY).status_code == 401
    assert client.post("/api/orders", json=BODY, headers={"X-API-Key": "rk_bad_key"}).status_code == 401
    read_only = key(app, actors, scopes=("exam.read",))
    resp = client.post("/api/orders", json=BODY, headers=read_only)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "forbidden"


def test_validation(app, client, actors):
    headers = key(app, actors)
    no_patient = {k: v for k, v in BODY.items() if k != "patient"}
    resp = client.post("/api/orders", json=no_patient, headers=headers)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_input"
    assert client.post("/api/orders", json=BODY | {"control_id": ""}, headers=headers).status_code == 400
    assert client.post("/api/orders", json=BODY | {"action": "DC"}, headers=headers).status_code == 400
    naive = client.post("/api/orders", json=BODY | {"requested_at": "2026-11-27T10:00:00"}, headers=headers)
    assert naive.status_code == 400
    unknown = client.post("/api/orders", json=BODY | {"item_code": "NO-SUCH"}, headers=headers)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "unknown_exam_item"
    bad_id = client.post("/api/orders", json=BODY | {"patient": BODY["patient"] | {"id_card": "123"}},
                         headers=headers)
    assert bad_id.status_code == 400
    assert bad_id.get_json()["error"]["code"] == "invalid_id_card"
    assert client.post("/api/orders", data="x", headers=headers).status_code == 400


def test_documented_in_openapi(client):
    spec = client.get("/api/openapi.json").get_json()
    op = spec["paths"]["/api/orders"]["post"]
    assert "exam.register" in op["description"]
    assert "control_id" in op["requestBody"]["content"]["application/json"]["schema"]["properties"]
