"""The low-code data API through the test client: keys, JSON and streamed CSV, paging, errors, 429, audit."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from backend.services import audit, settings_store
from backend.services.auth import login
from tests.data_api_helpers import ALL_READ, data_key, settle
from tests.helpers import register
from tests.reporting_helpers import approved

URL = "/api/data/v1"


@pytest.fixture
def svc_app(app: Any) -> Any:
    return app.extensions["radops"]


@pytest.fixture
def admin(svc_app: Any) -> Any:
    return login(svc_app, "admin", "admin123456")


def get(client: Any, path: str, key: str | None, **query: Any) -> Any:
    return client.get(f"{URL}/{path}", query_string=query, headers={"X-API-Key": key} if key else {})


def test_json_pages_with_cursor_and_masking(client, svc_app, admin):
    for _ in range(3):
        register(svc_app, admin, name="欧阳明月")
    key = data_key(svc_app, admin)
    first = get(client, "exams", key, limit=2, fields="accession,patient_name")
    assert first.status_code == 200
    body = first.get_json()
    assert (body["count"], body["masked"], body["mode"]) == (2, True, "list")
    assert {i["patient_name"] for i in body["items"]} == {"欧**月"}
    rest = get(client, "exams", key, limit=2, fields="accession,patient_name", cursor=body["next_cursor"]).get_json()
    assert rest["count"] == 1
    assert rest["next_cursor"] is None
    assert rest["next_updated_since"]
    assert "X-RateLimit-Limit" in first.headers


def test_csv_is_streamed_with_the_cursor_in_a_header(client, svc_app, admin):
    for _ in range(3):
        register(svc_app, admin)
    key = data_key(svc_app, admin)
    resp = get(client, "exams", key, format="csv", limit=2, fields="accession,status")
    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["id", "accession", "status"]
    assert [r[2] for r in rows[1:]] == ["registered", "registered"]
    nxt = resp.headers["X-Next-Cursor"]
    more = get(client, "exams", key, format="csv", limit=2, fields="accession,status", cursor=nxt)
    assert len(list(csv.reader(io.StringIO(more.get_data(as_text=True))))) == 2
    assert more.headers["X-Next-Cursor"] == ""
    assert more.headers["X-Next-Updated-Since"]


def test_incremental_sync_over_http(client, svc_app, admin, clock):
    key = data_key(svc_app, admin)
    first = get(client, "reports", key).get_json()
    approved(svc_app, {"clerk": login(svc_app, "clerk", "clerk123456"), "tech": login(svc_app, "tech", "tech123456"),
                       "doctor": login(svc_app, "doctor", "doctor123456"),
                       "senior": login(svc_app, "senior", "senior123456")})
    settle(clock)
    body = get(client, "reports", key, updated_since=first["next_updated_since"]).get_json()
    assert body["mode"] == "incremental"
    assert [i["status"] for i in body["items"]] == ["approved"]
    as_csv = get(client, "reports", key, updated_since=first["next_updated_since"], format="csv", fields="status")
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert rows == [["_op", "report_id", "status"], ["upsert", str(body["items"][0]["report_id"]), "approved"]]


@pytest.mark.parametrize(("path", "query", "status", "code"), [
    ("exams", {"colour": "red"}, 400, "unknown_filter"),
    ("exams", {"fields": "nope"}, 400, "unknown_field"),
    ("exams", {"limit": 5000}, 400, "invalid_limit"),
    ("exams", {"cursor": "abc.def"}, 400, "invalid_cursor"),
    ("exams", {"updated_since": "soon"}, 400, "invalid_updated_since"),
    ("patients", {}, 404, "unknown_dataset"),
    ("exams/1", {}, 404, "unknown_dataset"),
    ("reports", {}, 403, "dataset_forbidden"),
])
def test_bad_calls_answer_a_json_error_with_a_stable_code(client, svc_app, admin, path, query, status, code):
    key = data_key(svc_app, admin, ["data.read:exams"])
    resp = get(client, path, key, **query)
    assert resp.status_code == status
    assert resp.is_json
    assert resp.get_json()["error"]["code"] == code


def test_no_key_a_bad_key_and_a_staff_session_are_401(client, svc_app, admin, auth_actions):
    assert get(client, "exams", None).get_json()["error"]["code"] == "unauthenticated"
    assert get(client, "exams", "rk_nope_nope").get_json()["error"]["code"] == "bad_api_key"
    auth_actions.login("admin")
    resp = get(client, "exams", None)
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (401, "api_key_required")


def test_the_dictionary_is_public_and_in_the_openapi(client):
    d = client.get(f"{URL}/dictionary").get_json()
    assert {x["name"] for x in d["datasets"]} >= {"exams", "reports", "critical_values", "queue_tickets",
                                                   "us_room_load", "cockpit", "cloud_uploads", "cadre_uploads"}
    spec = client.get("/api/openapi.json").get_json()
    op = spec["paths"][f"{URL}/exams"]["get"]
    status = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["items"]["items"][
        "properties"]["status"]
    assert status["title"] == "检查状态"
    assert "completed 检查完成" in status["description"]
    assert "completed" in status["enum"]
    assert {p["name"] for p in op["parameters"]} >= {"status", "created_at_from", "cursor", "updated_since"}
    assert op["security"] == [{"apiKey": []}]


def test_a_key_over_its_rate_gets_429_with_retry_after(client, svc_app, admin):
    settings_store.put(svc_app, "data_api.rate_per_minute", 3, by=admin)
    key, other = data_key(svc_app, admin), data_key(svc_app, admin, name="另一平台")
    codes = [get(client, "exams", key).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = get(client, "exams", key)
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert get(client, "exams", other).status_code == 200  # the limit is per key


def test_every_call_is_audited_with_the_key_name(client, svc_app, admin):
    key = data_key(svc_app, admin, ALL_READ, name="OA平台")
    get(client, "exams", key)
    get(client, "exams", key, colour="red")
    audit.flush_reads(svc_app)
    rows = list(audit.list_entries(svc_app, admin, entity="data_api"))
    assert [(r["details"]["key_name"], r["details"]["status"]) for r in rows] == [("OA平台", 400), ("OA平台", 200)]
    assert rows[0]["details"]["code"] == "unknown_filter"
