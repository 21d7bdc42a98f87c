"""Issue 15 item 7 at the desk: the clerk ticks 军人, the patient record keeps it, a later lookup shows it ticked."""

from __future__ import annotations

from sqlalchemy import select

from backend.db.models import Patient
from backend.services.base import transaction
from tests.browser.conftest import login, pick_option, screenshot


def _military(server, mrn: str) -> bool:
    with transaction(server.services, readonly=True) as tx:
        return bool(tx.session.scalars(select(Patient.military).where(Patient.mrn == mrn)).one())


def test_clerk_ticks_military_and_the_lookup_shows_it(page, live_server):
    login(page, live_server, "clerk")
    page.wait_for_selector("#reg-submit")
    page.fill("#reg-mrn", "BRM0001")
    page.fill("#reg-name", "林军人")
    page.check("#reg-sex input[value=M]", force=True)
    assert "军人" in page.inner_text("label[for=reg-military]")
    page.check("#reg-military")
    pick_option(page, "#reg-item", "CT-LN-TR")
    page.wait_for_selector("#reg-no-slot")
    screenshot(page, "register-military-form")
    page.click("#reg-submit")
    page.wait_for_selector("#reg-success")
    assert _military(live_server, "BRM0001") is True

    page.goto(f"{live_server.base}/panels/register")
    page.wait_for_selector("#reg-submit")
    assert not page.is_checked("#reg-military")
    page.fill("#reg-mrn", "BRM0001")
    page.press("#reg-mrn", "Enter")
    page.wait_for_function("document.querySelector('#reg-name').value === '林军人'")
    page.wait_for_function("document.querySelector('#reg-military').checked === true")
    assert not page.is_checked("#reg-cadre")  # the two flags are separate
