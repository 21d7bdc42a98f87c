"""The health cloud's ledger through the API and the admin page (issue 12 item 6): list with filters and
counts, volumes, skip / retry / add, refused to other roles, in the OpenAPI; the page's table, chart,
progress and buttons."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.health_cloud import CloudStatus
from backend.ports import Ports
from backend.services.health_cloud import ledger
from integrations.health_cloud.emulator import HealthCloudEmulator
from panels.admin import health_cloud as page
from panels.admin import nav
from tests.cloud_ledger_helpers import put_study, receive, run_jobs
from tests.ui.test_admin_pages import ids, signed_in, text


@pytest.fixture
def ports(cloud_ports: Ports) -> Ports:
    return cloud_ports  # the health cloud's client pointed at the emulator (tests/conftest.py)


@pytest.fixture
def two_studies(app: Any, clock: Any, actors: Any) -> tuple[str, str]:
    """One study uploaded, one still waiting for its registration."""
    svc = app.extensions["radops"]
    from backend.services import settings_store

    settings_store.put(svc, "health_cloud.parallel", 1, by=actors["admin"])
    done_uid, _ = put_study(svc, slices=2, accession="HCDONE1")
    receive(svc, clock)
    run_jobs(svc, clock)
    waiting_uid, _ = put_study(svc, slices=1, accession="HCWAIT1")
    receive(svc, clock)
    ledger.find_candidates(svc)
    return done_uid, waiting_uid


def test_the_ledger_api_lists_filters_and_acts(client: Any, auth_actions: Any, two_studies: tuple[str, str]) -> None:
    done_uid, waiting_uid = two_studies
    assert auth_actions.login("admin").status_code == 200
    body = client.get("/api/health-cloud/ledger").get_json()
    assert {r["study_uid"]: r["status"] for r in body["studies"]} == {done_uid: "uploaded", waiting_uid: "pending"}
    assert body["counts"]["uploaded"] == 1
    assert body["counts"]["pending"] == 1
    only = client.get("/api/health-cloud/ledger?status=uploaded&q=HCDONE").get_json()["studies"]
    assert [r["study_uid"] for r in only] == [done_uid]
    assert only[0]["status_text"] == "已上传"
    assert client.get("/api/health-cloud/ledger?status=nonsense").status_code == 400
    days = client.get("/api/health-cloud/volumes?days=7").get_json()["days"]
    assert len(days) == 7
    assert days[-1]["files"] == 2
    r = client.post(f"/api/health-cloud/studies/{waiting_uid}/skip", json={})
    assert r.status_code == 200
    assert r.get_json()["status"] == CloudStatus.SKIPPED.value
    assert client.post(f"/api/health-cloud/studies/{done_uid}/retry", json={}).status_code == 409  # not failed
    r = client.post("/api/health-cloud/studies", json={"accession": "HCWAIT1"})
    assert r.status_code == 201
    assert r.get_json()["status"] == CloudStatus.PENDING.value
    assert r.get_json()["manual"] == "add"
    assert client.post("/api/health-cloud/studies/1.2.3/skip", json={}).status_code == 404
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/health-cloud/ledger", "/api/health-cloud/studies/{study_uid}/retry"} <= spec["paths"].keys()


def test_other_roles_are_refused_by_the_api(client: Any, auth_actions: Any) -> None:
    assert auth_actions.login("head").status_code == 200
    assert client.get("/api/health-cloud/ledger").status_code == 403


def test_the_page_shows_states_progress_chart_and_buttons(app: Any, actors: Any,
                                                          two_studies: tuple[str, str]) -> None:
    _done, waiting = two_studies
    with signed_in(app, actors["admin"]):
        tree = page.layout()
    found = ids(tree)
    assert {"hc-rows", "hc-chart", "hc-counts", "admin-nav-health-cloud"} <= found
    words = text(tree)
    assert "已上传" in words
    assert "待登记" in words
    assert "2/2" in words  # the progress of the uploaded study
    assert "HCDONE1" in words
    assert (page.PATH, page.TITLE) in nav.ADMIN_NAV
    with signed_in(app, actors["admin"]):
        failing = page.content(CloudStatus.FAILED.value, "", None, None, [])
    assert "hc-empty" in ids(failing)
    assert waiting


def test_the_page_is_refused_to_other_roles(app: Any, actors: Any) -> None:
    with signed_in(app, actors["head"]):
        tree = page.layout()
    assert "shell-refusal" in ids(tree)
    assert "hc-rows" not in ids(tree)


def test_the_page_imports_old_registrations_and_reconciles(app: Any, actors: Any, client: Any, auth_actions: Any,
                                                           cloud_emulator: HealthCloudEmulator,
                                                           two_studies: tuple[str, str]) -> None:
    from datetime import UTC, date, datetime

    from integrations.health_cloud.emulator_state import LegacyRecord
    from tests.cloud_ledger_helpers import HOSPITAL

    cloud_emulator.add_legacy(LegacyRecord("OLD-9", HOSPITAL, "NOSUCH", "", "X", "某", date(2026, 11, 1),
                                     datetime(2026, 11, 1, tzinfo=UTC)))
    with signed_in(app, actors["admin"]):
        imported = page.old_and_reconcile("import")
        dry = page.old_and_reconcile("dry")
    assert "hc-import-msg" in ids(imported)
    assert "OLD-9" in text(imported)
    assert "未匹配" in text(imported)
    assert "台账与云端一致" in text(dry)
    assert auth_actions.login("admin").status_code == 200
    r = client.post("/api/health-cloud/reconcile", json={"dry_run": True})
    assert r.status_code == 200
    assert r.get_json()["cloud_studies"] == 1
    links = client.get("/api/health-cloud/old-registrations").get_json()["links"]
    assert [x["old_cloud_id"] for x in links] == ["OLD-9"]
