"""Admin APIs through the test client: CRUD round trips, stable error codes, 401/403, keys shown once."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin_client(client, auth_actions):
    assert auth_actions.login("admin").status_code == 200
    return client


def _queue_id(client, code):
    return next(q["id"] for q in client.get("/api/admin/queues").get_json()["queues"] if q["code"] == code)


def test_item_create_duplicate_edit_and_delete_in_use(admin_client):
    c = admin_client
    body = {"code": "MR-KNEE", "name": "膝关节MR平扫", "modality": "MR", "body_part": "膝关节",
            "category": "routine", "queue_id": _queue_id(c, "MR"), "needs_slot": True, "report_template_code": "MR"}
    r = c.post("/api/admin/items", json=body)
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    dup = c.post("/api/admin/items", json=body)
    assert dup.status_code == 409
    assert dup.get_json()["error"]["code"] == "duplicate_code"
    r = c.patch(f"/api/admin/items/{item['id']}", json={"tat_emergency_min": 45, "active": False})
    assert r.status_code == 200
    assert r.get_json()["tat_emergency_min"] == 45
    assert r.get_json()["active"] is False
    # An item some exam uses is refused with the advice to deactivate it instead.
    r = c.post("/api/exams", json={"patient": {"mrn": "API0001", "name": "测试"}, "item_code": "DR-CHEST"})
    assert r.status_code == 201
    dr = next(i for i in c.get("/api/admin/items").get_json()["items"] if i["code"] == "DR-CHEST")
    r = c.delete(f"/api/admin/items/{dr['id']}", json={})
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "item_in_use"
    assert "停用" in r.get_json()["error"]["message"]
    assert c.delete(f"/api/admin/items/{item['id']}", json={}).status_code == 200


def test_queue_prefix_errors_are_400_and_409(admin_client):
    c = admin_client
    campus = c.get("/api/admin/lookups").get_json()["campuses"][0]["id"]
    r = c.post("/api/admin/queues", json={"code": "Q1", "name": "新队列", "prefix": "abc", "campus_id": campus,
                                          "modality": "CT"})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "invalid_prefix"
    r = c.post("/api/admin/queues", json={"code": "Q1", "name": "新队列", "prefix": "MR", "campus_id": campus,
                                          "modality": "CT"})
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "duplicate_prefix"
    r = c.post("/api/admin/queues", json={"code": "Q1", "name": "新队列", "prefix": "QA", "campus_id": campus,
                                          "modality": "CT", "room_ids": []})
    assert r.status_code == 201
    assert r.get_json()["prefix"] == "QA"


def test_slots_generate_list_and_capacity(admin_client):
    c = admin_client
    q = _queue_id(c, "RF")
    body = {"queue_id": q, "date_from": "2026-12-07", "date_to": "2026-12-08", "hours": [8, 9, 18], "capacity": 4}
    first = c.post("/api/admin/slots/generate", json=body).get_json()
    assert first == {"created": 2, "existing": 4}  # the demo already has RF slots at 08:00 and 09:00
    assert c.post("/api/admin/slots/generate", json=body).get_json() == {"created": 0, "existing": 6}
    slots = c.get(f"/api/admin/slots?queue_id={q}&date_from=2026-12-07&date_to=2026-12-07").get_json()["slots"]
    night = next(s for s in slots if s["start"] == "18:00")
    assert night["capacity"] == 4
    assert night["band"] == "night"
    r = c.patch(f"/api/admin/slots/{night['id']}", json={"capacity": 9})
    assert r.status_code == 200
    assert r.get_json()["capacity"] == 9
    r = c.patch(f"/api/admin/slots/{night['id']}", json={"capacity": 0})
    assert r.status_code == 400
    r = c.post(f"/api/admin/slots/{night['id']}/active", json={"active": False})
    assert r.status_code == 200
    assert r.get_json()["active"] is False


def test_users_api_and_self_deactivation(admin_client, client):
    c = admin_client
    r = c.post("/api/admin/users", json={"username": "reg2", "password": "Desk-two-2026", "display_name": "登记员 二",
                                         "roles": ["clerk"]})
    assert r.status_code == 201
    me = c.get("/api/auth/me").get_json()["user"]["id"]
    r = c.post(f"/api/admin/users/{me}/active", json={"active": False})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "self_deactivate"
    r = c.post("/api/admin/users", json={"username": "x", "password": "p" * 8, "roles": ["pilot"]})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "invalid_input"


def test_api_key_shown_once_then_revoked_key_is_refused(admin_client, app):
    c = admin_client
    r = c.post("/api/admin/api-keys", json={"name": "低代码平台", "scopes": ["exam.read"]})
    assert r.status_code == 201
    key = r.get_json()["key"]
    listed = c.get("/api/admin/api-keys").get_json()["api_keys"]
    assert key not in str(listed)
    assert key.split("_", 2)[2] not in str(listed)
    system = app.test_client()
    assert system.get("/api/exam-items", headers={"X-API-Key": key}).status_code == 200
    assert system.get("/api/admin/users", headers={"X-API-Key": key}).status_code == 403
    key_id = next(k["id"] for k in listed if k["prefix"] == r.get_json()["prefix"])
    assert c.post(f"/api/admin/api-keys/{key_id}/revoke", json={}).status_code == 200
    r = system.get("/api/exam-items", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "bad_api_key"


def test_settings_put_and_audit_filters(admin_client):
    c = admin_client
    r = c.put("/api/admin/settings/er.reminder_lead_min", json={"value": 20})
    assert r.status_code == 200
    assert r.get_json()["value"] == 20
    r = c.put("/api/admin/settings/er.reminder_lead_min", json={"value": 0})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "setting_out_of_range"
    groups = c.get("/api/admin/settings").get_json()["groups"]
    assert any(s["key"] == "er.reminder_lead_min" and s["value"] == 20 for rows in groups.values() for s in rows)
    r = c.get("/api/admin/audit?entity=setting&entity_id=er.reminder_lead_min&date_from=2026-11-27")
    entries = r.get_json()["entries"]
    assert entries
    assert entries[0]["details"] == {"old": 10, "new": 20}
    assert c.get("/api/admin/audit?date_from=nope").status_code == 400


@pytest.mark.parametrize("path", ["/api/admin/users", "/api/admin/items", "/api/admin/audit", "/api/admin/settings"])
def test_wrong_role_gets_403_and_anonymous_401(client, auth_actions, path):
    assert client.get(path).status_code == 401
    auth_actions.login("clerk")
    r = client.get(path)
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "forbidden"


def test_every_admin_route_is_documented(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    admin_paths = [p for p in spec["paths"] if p.startswith("/api/admin/")]
    assert len(admin_paths) >= 15
    for p in admin_paths:
        for op in spec["paths"][p].values():
            assert op["summary"]
            assert "admin" in op.get("description", "")
