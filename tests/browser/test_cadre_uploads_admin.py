"""The cadre-health upload ledger page in a real browser: an admin adds an exam by accession, sees it 待上传,
removes it, and filters by state."""

from __future__ import annotations

from backend.services.auth import login as sign_in
from tests.browser.conftest import login, pick_option, screenshot
from tests.cadre_helpers import covered_exam
from tests.conftest import PASSWORDS


def test_admin_adds_filters_and_removes_an_exam(page, live_server):
    svc = live_server.services
    actors = {who: sign_in(svc, who, PASSWORDS[who]) for who in ("clerk", "tech", "doctor", "senior")}
    exam = covered_exam(svc, actors, id_card=None, files=0)
    login(page, live_server, "admin", next_path="/admin/cadre-uploads")
    page.wait_for_selector("#cadre-uploads-rows")
    assert exam["accession"] not in page.inner_text("#cadre-uploads-rows")
    page.fill("#cadre-uploads-add-accession", exam["accession"])
    page.click("#cadre-uploads-add")
    page.wait_for_selector("#cadre-uploads-added")
    rows = page.inner_text("#cadre-uploads-rows")
    assert exam["accession"] in rows
    assert "人工添加" in rows
    assert "待上传" in rows
    assert "待上传 1" in page.inner_text("#cadre-uploads-counts")
    screenshot(page, "admin-cadre-uploads")
    pick_option(page, "#cadre-uploads-select", exam["accession"])
    page.click("#cadre-uploads-remove")
    page.wait_for_selector("#cadre-uploads-removed")
    assert "已移除 1" in page.inner_text("#cadre-uploads-counts")
    pick_option(page, "#cadre-uploads-state", "已上传")
    page.click("#cadre-uploads-search")
    page.wait_for_function(f"!document.querySelector('#cadre-uploads-rows').innerText.includes('{exam['accession']}')")
