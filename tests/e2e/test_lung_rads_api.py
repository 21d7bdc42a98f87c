"""POST /api/lung-rads/assess over HTTP: a radiologist's session, an API key's scope, refusals in Chinese."""

from __future__ import annotations

from typing import Any

from backend.services import auth, settings_store
from tests.conftest import PASSWORDS

URL = "/api/lung-rads/assess"


def _body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exam": "baseline",
        "nodules": [
            {"type": "solid", "long_mm": 9.0, "short_mm": 7.2, "solid_long_mm": None, "solid_short_mm": None,
             "change": None, "stable_months": None, "suspicious_features": False},
            {"type": "part_solid", "long_mm": 14, "short_mm": 10, "solid_long_mm": 5.0, "solid_short_mm": 4.0,
             "change": None, "stable_months": None, "suspicious_features": False},
        ],
        "significant_other_findings": True,
        "prior_available": True,
    }
    body.update(extra)
    return body


def _error(resp: Any, status: int, code: str) -> str:
    assert resp.status_code == status, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == code
    return str(err["message"])


def test_radiologist_session_gets_the_fixed_point_answer(client, auth_actions):
    assert auth_actions.login("doctor").status_code == 200
    r = client.post(URL, json=_body())
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer["system"] == "lung-rads-v2022"
    assert answer["category"] == "4A"
    assert answer["modifiers"] == ["S"]
    assert [(n["mean_mm"], n["category"]) for n in answer["nodules"]] == [(8.1, "4A"), (12.0, "3")]
    assert "3个月" in answer["recommendation"]


def test_c_lung_rads_on_request_and_as_the_hospital_setting(app, client, auth_actions, actors):
    assert auth_actions.login("doctor").status_code == 200
    r = client.post(URL, json=_body(system="c-lung-rads"))
    assert r.get_json()["system"] == "c-lung-rads"
    assert r.get_json()["category"] == "2"  # solid 8.1 mm: 6 to <10 mm; part-solid with solid 4.5 mm: 2
    assert r.get_json()["modifiers"] == []
    settings_store.put(app.extensions["radops"], "lung_rads.system", "c-lung-rads", by=actors["admin"])
    r = client.post(URL, json=_body())
    assert r.get_json()["system"] == "c-lung-rads"
    assert client.post(URL, json=_body(system="lung-rads-v2022")).get_json()["category"] == "4A"


def test_api_key_needs_the_report_write_scope(app):
    svc = app.extensions["radops"]
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    writer = auth.create_api_key(svc, "结构化报告", ["report.write"], by=admin)
    reader = auth.create_api_key(svc, "只读", ["exam.read"], by=admin)
    system = app.test_client()
    r = system.post(URL, json=_body(), headers={"X-API-Key": writer})
    assert r.status_code == 200
    assert r.get_json()["category"] == "4A"
    _error(system.post(URL, json=_body(), headers={"X-API-Key": reader}), 403, "forbidden")
    _error(system.post(URL, json=_body()), 401, "unauthenticated")


def test_staff_without_report_write_are_refused(client, auth_actions):
    assert auth_actions.login("clerk").status_code == 200
    _error(client.post(URL, json=_body()), 403, "forbidden")


def test_bad_measurements_are_refused_in_chinese(client, auth_actions):
    assert auth_actions.login("doctor").status_code == 200

    def with_nodule(**fields: Any) -> dict[str, Any]:
        nodule = {"type": "solid", "long_mm": 9.0, "short_mm": 7.0, **fields}
        return _body(nodules=[nodule])

    assert "负数" in _error(client.post(URL, json=with_nodule(short_mm=-1.0)), 400, "negative_measurement")
    assert "300" in _error(client.post(URL, json=with_nodule(long_mm=301.0)), 400, "absurd_measurement")
    assert "短径" in _error(client.post(URL, json=with_nodule(short_mm=9.5)), 400, "short_exceeds_long")
    assert "实性成分" in _error(client.post(URL, json=with_nodule(type="part_solid")), 400,
                               "missing_solid_component")
    message = _error(client.post(URL, json=with_nodule(type="part_solid", solid_long_mm=10.0, solid_short_mm=6.0)),
                     400, "solid_exceeds_nodule")
    assert "结节1" in message
    assert "基线" in _error(client.post(URL, json=with_nodule(change="growing")), 400, "baseline_change")
    assert "输入有误" in _error(client.post(URL, json=with_nodule(type="cyst")), 400, "invalid_input")
    _error(client.post(URL, json=_body(system="fleischner")), 400, "invalid_input")


def test_documented_in_the_openapi(client):
    spec = client.get("/api/openapi.json").get_json()
    op = spec["paths"][URL]["post"]
    assert "Lung-RADS" in op["summary"]
    assert "200" in op["responses"]
