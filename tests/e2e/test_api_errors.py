"""The core API's refusals through the Flask test client: stable codes, Chinese messages, and nothing
written by a refused request; the OpenAPI document, the health check, API keys and the list fixed point."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db.models import Exam, ExamEvent, Patient, Slot
from backend.services import auth, health
from backend.services.base import transaction
from tests.conftest import PASSWORDS

DAY = "2026-11-27"


def _body(mrn: str, item: str = "DR-CHEST", **kw: Any) -> dict[str, Any]:
    return {"patient": {"mrn": mrn, "name": "测试患者", "sex": "F"}, "item_code": item, **kw}


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.get_data(as_text=True)
    err = r.get_json()["error"]
    assert err["code"] == code
    assert err["message"]
    return err


def _counts(app: Any) -> dict[str, int]:
    """Rows a refused request must not add: exams, timeline rows, patients and booked slot places."""
    with transaction(app.extensions["radops"], readonly=True) as tx:
        s = tx.session
        return {"exams": s.scalar(select(func.count()).select_from(Exam)) or 0,
                "events": s.scalar(select(func.count()).select_from(ExamEvent)) or 0,
                "patients": s.scalar(select(func.count()).select_from(Patient)) or 0,
                "booked": s.scalar(select(func.coalesce(func.sum(Slot.booked), 0))) or 0}


def _open_slot(client: Any, item: str) -> dict[str, Any]:
    slots = client.get(f"/api/slots?item={item}&day={DAY}").get_json()["slots"]
    return next(s for s in slots if not s["past"] and s["remaining"] > 0)


@pytest.fixture
def clerk(client: Any, auth_actions: Any) -> Any:
    assert auth_actions.login("clerk").status_code == 200
    return client


def test_unknown_exam_is_404_with_code_on_every_route(clerk):
    for method, path, body in [("get", "/api/exams/987654", None), ("get", "/api/exams/987654/timeline", None),
                               ("patch", "/api/exams/987654", {"priority": "urgent"}),
                               ("post", "/api/exams/987654/cancel", {"reason": "测试"})]:
        err = _error(getattr(clerk, method)(path, json=body), 404, "exam_not_found")
        assert "987654" in err["message"]
    assert clerk.get("/api/exams?accession=RA0000000000000").get_json() == {"items": [], "next_cursor": None}
    _error(clerk.post("/api/exams", json=_body("E404A", item="NO-SUCH-ITEM")), 404, "unknown_exam_item")
    _error(clerk.post("/api/exams", json=_body("E404B", item="CT-CHEST", slot_id=99999999)), 404, "unknown_slot")


def test_duplicate_order_is_409_and_names_the_first_accession(clerk, app):
    first = clerk.post("/api/exams", json=_body("DUP001", source_order_no="HIS-778899"))
    assert first.status_code == 201
    before = _counts(app)
    err = _error(clerk.post("/api/exams", json=_body("DUP001", source_order_no="HIS-778899")), 409, "duplicate_order")
    assert err["details"]["accession"] == first.get_json()["accession"]
    assert _counts(app) == before


def test_illegal_transition_is_409_naming_the_state_and_changes_nothing(clerk, app):
    exam = clerk.post("/api/exams", json=_body("TRN001")).get_json()
    before = _counts(app)
    err = _error(clerk.post(f"/api/exams/{exam['exam_id']}/transition", json={"trigger": "complete"}),
                 409, "invalid_transition")
    assert "完成检查" in err["message"]
    assert "已登记" in err["message"]
    assert err["details"]["current"] == "registered"
    assert _counts(app) == before
    assert clerk.get(f"/api/exams/{exam['exam_id']}").get_json()["status"] == "registered"


def test_full_slot_is_409_and_books_nothing(clerk, app):
    slot = _open_slot(clerk, "MR-BRAIN")
    for n in range(slot["remaining"]):
        assert clerk.post("/api/exams", json=_body(f"FULL{n:03d}", "MR-BRAIN", slot_id=slot["id"])).status_code == 201
    before = _counts(app)
    err = _error(clerk.post("/api/exams", json=_body("FULLX", "MR-BRAIN", slot_id=slot["id"])), 409, "slot_full")
    assert "号源已满" in err["message"]
    assert _counts(app) == before


def test_wrong_role_is_403_and_anonymous_is_401(client, auth_actions, app):
    _error(client.get("/api/exams"), 401, "unauthenticated")
    _error(client.post("/api/exams", json=_body("ANON01")), 401, "unauthenticated")
    auth_actions.login("doctor")
    before = _counts(app)
    err = _error(client.post("/api/exams", json=_body("ROLE01")), 403, "forbidden")
    assert "登记检查" in err["message"]
    _error(client.post("/api/exams/1/transition", json={"trigger": "check_in"}), 403, "forbidden")
    assert _counts(app) == before


def test_malformed_and_non_json_bodies(clerk, app):
    before = _counts(app)
    _error(clerk.post("/api/exams", data='{"patient": ', content_type="application/json"), 400, "malformed_json")
    _error(clerk.post("/api/exams", data="[1, 2]", content_type="application/json"), 400, "malformed_json")
    # A cookie-authenticated write must be JSON (a cross-site form cannot send it): refused before the view.
    _error(clerk.post("/api/exams", data={"item_code": "DR-CHEST"}), 403, "csrf_failed")
    _error(clerk.post("/api/exams", data="item_code=DR-CHEST", content_type="text/plain"), 403, "csrf_failed")
    assert _counts(app) == before


def test_oversized_and_invalid_fields_list_every_field(clerk, app):
    before = _counts(app)
    body = _body("BIG001", clinical_info="很" * 2001)
    body["patient"]["name"] = "名" * 65
    err = _error(clerk.post("/api/exams", json=body), 400, "invalid_input")
    fields = {f["field"] for f in err["fields"]}
    assert {"patient.name", "clinical_info"} <= fields
    assert "patient.name" in err["message"]
    err = _error(clerk.post("/api/exams", json=_body("BIG002", patient_class="vip")), 400, "invalid_input")
    assert [f["field"] for f in err["fields"]] == ["patient_class"]
    _error(clerk.post("/api/exams", json={"patient": {"mrn": "坏的病案号", "name": "某"}, "item_code": "DR-CHEST"}),
           400, "invalid_mrn")
    assert _counts(app) == before


def test_unknown_sort_cursor_and_limit_are_400(clerk):
    _error(clerk.get("/api/exams?sort=name_asc"), 400, "invalid_sort")
    _error(clerk.get("/api/exams?cursor=not-a-cursor!!"), 400, "invalid_cursor")
    _error(clerk.get("/api/exams?limit=500"), 400, "invalid_input")
    _error(clerk.get("/api/exams?date_from=2026-11-28&date_to=2026-11-27"), 400, "invalid_date_range")
    _error(clerk.get("/api/exams?date_from=yesterday"), 400, "invalid_input")
    # An id wider than the id columns is refused here, not by PostgreSQL with a 500 (schemathesis found it).
    _error(clerk.get("/api/exams?campus=-20922789888001"), 400, "int_out_of_range")


def test_keyset_pages_do_not_overlap(clerk):
    accs = {clerk.post("/api/exams", json=_body(f"PAGE{n:02d}")).get_json()["accession"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/api/exams?date_from={DAY}&date_to={DAY}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = clerk.get(url).get_json()
        seen += [i["accession"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert accs <= set(seen)


def test_list_fixed_point_by_accession(clerk):
    """LN-3, PE-3: an exam registered through the API is found by its accession with its states."""
    out = clerk.post("/api/exams", json=_body("FIX001", "CT-LN-TR", patient_class="inpatient")).get_json()
    items = clerk.get(f"/api/exams?accession={out['accession']}").get_json()["items"]
    assert len(items) == 1
    item = items[0]
    assert (item["accession"], item["status"], item["report_status"]) == (out["accession"], "registered", "none")
    assert (item["patient_class"], item["modality"], item["item_code"]) == ("inpatient", "CT", "CT-LN-TR")
    assert item["status_label"] == "已登记"
    assert item["scheduled_at"] is None
    by_item = clerk.get(f"/api/exams?item=CT-LN-TR&status=registered&date_from={DAY}").get_json()["items"]
    assert out["accession"] in [i["accession"] for i in by_item]
    check = clerk.post("/api/exams", json=_body("FIX002", patient_class="health_check")).get_json()
    found = clerk.get(f"/api/exams?patient_class=health_check&status=registered&date_from={DAY}").get_json()["items"]
    assert [i["accession"] for i in found] == [check["accession"]]
    assert found[0]["patient_class_label"] == "体检"


def test_openapi_lists_every_api_route(client, app):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or app.view_functions[rule.endpoint].__dict__.get("openapi_omitted"):
            continue  # a route left out on purpose says why (backend/api/openapi.py `undocumented`)
        path = re.sub(r"<(?:[^<>]+:)?([^<>:]+)>", r"{\1}", rule.rule)  # <int:exam_id> -> {exam_id}
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {rule.rule}")
    assert missing == []
    op = paths["/api/exams"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["properties"]["item_code"]
    assert any(p["name"] == "sort" for p in paths["/api/exams"]["get"]["parameters"])


def test_health_needs_no_login_and_is_503_until_the_required_components_report(app, client):
    r = client.get("/api/health")
    assert r.status_code == 503  # nothing runs the scheduler or the MLLP listener yet
    down = {c["name"] for c in r.get_json()["components"] if c["state"] == "down"}
    assert {"scheduler", "HL7 MLLP"} <= down
    svc = app.extensions["radops"]
    health.scheduler_beat(svc)
    health.beat(svc, [health.Report(e.component, e.kind, "ok", e.required)
                      for e in app.extensions["radops_expected"] if e.component != "scheduler"], instance="t:1")
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.get_json()["status"] == "ok"
    assert r.get_json()["database"] == "ok"


def test_api_key_scopes_and_revocation(app):
    svc = app.extensions["radops"]
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    reader = auth.create_api_key(svc, "检查列表只读", ["exam.read"], by=admin)
    writer = auth.create_api_key(svc, "外部登记", ["exam.read", "exam.register"], by=admin)
    system = app.test_client()
    assert system.get("/api/exams", headers={"X-API-Key": reader}).status_code == 200
    _error(system.post("/api/exams", json=_body("KEY001"), headers={"X-API-Key": reader}), 403, "forbidden")
    created = system.post("/api/exams", json=_body("KEY002"), headers={"X-API-Key": writer})
    assert created.status_code == 201
    # With a key there is no cookie to protect: a non-JSON body is a plain 400.
    _error(system.post("/api/exams", data="x=1", headers={"X-API-Key": writer}), 400, "not_json")
    _error(system.get("/api/exams", headers={"X-API-Key": "rk_nope_nope"}), 401, "bad_api_key")
    _error(system.get("/api/exams", headers={"X-API-Key": "garbage"}), 401, "bad_api_key")
    key_id = next(k["id"] for k in auth.list_api_keys(svc, by=admin) if reader.split("_")[1] == k["prefix"])
    auth.revoke_api_key(svc, key_id, by=admin)
    _error(system.get("/api/exams", headers={"X-API-Key": reader}), 401, "bad_api_key")
