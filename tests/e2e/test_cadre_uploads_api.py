"""The cadre-health upload ledger's admin API (CD-1): list with counts and filters, add by accession, remove,
retry refused unless stopped; other roles refused; bad filters answered 400 with a code."""

from __future__ import annotations

from typing import Any

from tests.cadre_helpers import covered_exam
from tests.conftest import PASSWORDS


def _login(app: Any, who: str) -> Any:
    c = app.test_client()
    c.post("/api/auth/login", json={"username": who, "password": PASSWORDS[who]})
    return c


def test_the_ledger_api_adds_lists_and_removes(app: Any, actors: Any) -> None:
    svc = app.extensions["radops"]
    exam = covered_exam(svc, actors, id_card=None, files=0)
    admin = _login(app, "admin")
    r = admin.post("/api/admin/cadre-uploads", json={"accession": exam["accession"]})
    assert r.status_code == 201
    row = r.get_json()
    assert (row["state"], row["source"], row["exam_id"]) == ("pending", "manual", exam["exam_id"])
    assert admin.post("/api/admin/cadre-uploads", json={"accession": exam["accession"]}).status_code == 409
    listed = admin.get(f"/api/admin/cadre-uploads?accession={exam['accession']}").get_json()
    assert [u["id"] for u in listed["uploads"]] == [row["id"]]
    assert listed["counts"]["pending"] == 1
    assert admin.get("/api/admin/cadre-uploads?state=done").get_json()["uploads"] == []
    refused = admin.post(f"/api/admin/cadre-uploads/{row['id']}/retry", json={})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "cadre_upload_not_dead")
    removed = admin.post(f"/api/admin/cadre-uploads/{row['id']}/remove", json={})
    assert removed.get_json()["state"] == "cancelled"
    assert admin.post("/api/admin/cadre-uploads/999999/remove", json={}).status_code == 404
    assert admin.get("/api/admin/cadre-uploads?state=nonsense").status_code == 400
    assert admin.get("/api/admin/cadre-uploads?limit=100000").status_code == 400


def test_other_roles_and_strangers_are_refused(app: Any) -> None:
    assert _login(app, "clerk").get("/api/admin/cadre-uploads").status_code == 403
    assert app.test_client().get("/api/admin/cadre-uploads").status_code == 401
    assert "/api/admin/cadre-uploads" in _login(app, "admin").get("/api/openapi.json").get_json()["paths"]
