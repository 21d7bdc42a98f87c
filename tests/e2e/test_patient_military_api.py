"""POST /api/exams carries the patient's 军人 flag (issue 15 item 7); a later order without it keeps it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import Patient
from backend.services.base import transaction


@pytest.fixture
def clerk(client: Any, auth_actions: Any) -> Any:
    assert auth_actions.login("clerk").status_code == 200
    return client


def _military(app: Any, mrn: str) -> bool:
    with transaction(app.extensions["radops"], readonly=True) as tx:
        return bool(tx.session.scalars(select(Patient.military).where(Patient.mrn == mrn)).one())


def test_register_api_takes_the_military_flag_and_it_sticks(clerk, app):
    body = {"patient": {"mrn": "MIL0001", "name": "林军人", "sex": "M", "military": True}, "item_code": "DR-CHEST"}
    assert clerk.post("/api/exams", json=body).status_code == 201
    assert _military(app, "MIL0001") is True
    body["patient"].pop("military")
    assert clerk.post("/api/exams", json=body).status_code == 201
    assert _military(app, "MIL0001") is True  # an order that does not say so never clears it
    plain = {"patient": {"mrn": "MIL0002", "name": "许平民", "sex": "F"}, "item_code": "DR-CHEST"}
    assert clerk.post("/api/exams", json=plain).status_code == 201
    assert _military(app, "MIL0002") is False
    bad = {"patient": {"mrn": "MIL0003", "name": "错类型", "sex": "F", "military": "maybe"}, "item_code": "DR-CHEST"}
    r = clerk.post("/api/exams", json=bad)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert "military" in r.get_data(as_text=True)


def test_openapi_documents_the_military_field(client):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    patient = next(s for name, s in schemas.items() if name.startswith("PatientIn"))
    assert patient["properties"]["military"]["type"] == "boolean"
    assert patient["properties"]["military"]["default"] is False
