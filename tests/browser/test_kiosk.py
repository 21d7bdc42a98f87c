"""KI-1..11 in a real browser: check in by barcode (typed + Enter into the focused field), by e-voucher
(the insurance emulator on loopback) and by MRN on the keypad, two exams where one fails and one succeeds;
a missed patient who checks in again returns to the same room; the room desk calls the next patient."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from backend.ports import InsuredPerson
from backend.services import auth
from backend.services.patient_flow import calling
from integrations.insurance.client import HttpInsuranceResolver
from integrations.insurance.emulator import InsuranceEmulator
from tests.browser.conftest import enrol_device, login, screenshot
from tests.conftest import PASSWORDS
from tests.services.kiosk_helpers import exam_for, new_patient

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
SMALL = {"width": 1280, "height": 800}


def _two_exams(server, **patient):
    svc = server.services
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    p = new_patient(**patient)
    ok = exam_for(svc, clerk, p)  # CT at 09:00 today, paid
    unpaid = exam_for(svc, clerk, p, "DR-CHEST", hour=None, paid=False)
    return p, ok, unpaid


def _check_all(page) -> None:
    page.wait_for_selector("#kiosk-exams")
    assert page.locator(".kiosk-exam.ok").count() == 1
    assert page.locator(".kiosk-exam.bad").filter(has_text="缴费").count() == 1
    page.click("#kiosk-checkin")
    page.wait_for_selector("#kiosk-results")
    good = page.locator(".kiosk-result.ok")
    assert good.count() == 1
    assert good.locator(".kiosk-ticket-code").inner_text().startswith("CT")
    assert "前面还有" in good.inner_text()
    assert "尚未缴费" in page.locator(".kiosk-result:not(.ok)").inner_text()


def test_barcode_check_in_portrait(live_server, page):
    p, ok, _ = _two_exams(live_server, name="欧阳小明")
    page.set_viewport_size(PORTRAIT)
    enrol_device(page, live_server, "kiosk", "K1")
    page.goto(f"{live_server.base}/kiosk/K1")
    page.wait_for_selector("#kiosk-scan:focus")
    page.keyboard.type(ok["accession"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-exams")
    assert "欧**明" in page.inner_text("#kiosk-exams")
    assert p.name not in page.content()
    screenshot(page, "kiosk_portrait_exams")
    _check_all(page)
    screenshot(page, "kiosk_portrait_results")
    page.click("#kiosk-home")
    page.wait_for_selector("#kiosk-results", state="detached")


def test_evoucher_check_in_landscape(live_server, page):
    emu = InsuranceEmulator().start()
    try:
        resolver = HttpInsuranceResolver(httpx.Client(base_url=emu.url, timeout=5))
        live_server.services.ports = replace(live_server.services.ports, insurance=resolver)
        p, _, _ = _two_exams(live_server, id_card="330102198001015678")
        emu.add_voucher("NHSA-QR-0001", InsuredPerson(id_no="330102198001015678", name=p.name))
        page.set_viewport_size(LANDSCAPE)
        enrol_device(page, live_server, "kiosk", "K2")
        page.goto(f"{live_server.base}/kiosk/K2")
        page.wait_for_selector("#kiosk-scan:focus")
        page.click("#kiosk-mode-evoucher")
        page.wait_for_function("document.getElementById('kiosk-mode-evoucher').className.includes('active')")
        page.wait_for_selector("#kiosk-scan:focus")
        page.keyboard.type("NHSA-QR-0001")
        page.keyboard.press("Enter")
        _check_all(page)
        screenshot(page, "kiosk_landscape_results")
        assert emu.requests
        assert emu.requests[-1]["data"]["businessType"] == "01203"
    finally:
        emu.stop()


def _keypad(page, digits: str) -> None:
    page.wait_for_selector("#kiosk-scan")
    page.click("#kiosk-mode-mrn")
    page.wait_for_selector("#kiosk-pad", state="visible")
    for d in digits:
        page.click(f"#kiosk-pad button:text-is('{d}')")
    page.wait_for_function(f"document.getElementById('kiosk-mrn').innerText === '{digits}'")
    page.click("#kiosk-mrn-ok")


def test_mrn_keypad_then_missed_patient_returns_to_the_same_room(live_server, page):
    _p, _ok, _ = _two_exams(live_server, mrn="80012345")
    page.set_viewport_size(SMALL)
    enrol_device(page, live_server, "kiosk", "K1")
    page.goto(f"{live_server.base}/kiosk/K1")
    _keypad(page, "80012345")
    _check_all(page)
    screenshot(page, "kiosk_small_results")
    svc = live_server.services
    tech = auth.login(svc, "tech", PASSWORDS["tech"])
    ct2 = next(r["id"] for r in calling.rooms(svc, by=tech) if r["code"] == "CT2")
    t = calling.call_next(svc, ct2, by=tech)
    calling.mark_missed(svc, t["ticket_id"], by=tech)
    page.click("#kiosk-home")
    _keypad(page, "80012345")
    page.wait_for_selector("#kiosk-exams")
    page.click("#kiosk-checkin")
    page.wait_for_selector(".kiosk-result.ok")
    assert "CT2室" in page.inner_text(".kiosk-result.ok")
    assert calling.room_state(svc, ct2, by=tech)["waiting"][0]["ticket_id"] == t["ticket_id"]


def test_unknown_code_and_idle_return(live_server, page):
    from backend.services import settings_store

    admin = auth.login(live_server.services, "admin", PASSWORDS["admin"])
    settings_store.put(live_server.services, "kiosk.idle_seconds", 10, by=admin)
    page.set_viewport_size(SMALL)
    enrol_device(page, live_server, "kiosk", "K3")
    page.goto(f"{live_server.base}/kiosk/K3")
    page.wait_for_selector("#kiosk-scan:focus")
    screenshot(page, "kiosk_small_start")
    page.keyboard.type("NOT-A-CODE")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-message")
    assert "未找到" in page.inner_text("#kiosk-message")
    page.wait_for_selector("#kiosk-message", state="detached", timeout=25000)


@pytest.mark.parametrize("username", ["tech"])
def test_room_desk_calls_and_marks_missed(live_server, page, username):
    _, ok, _ = _two_exams(live_server)
    svc = live_server.services
    nurse = auth.login(svc, "nurse", PASSWORDS["nurse"])
    from backend.services.patient_flow import checkin

    results = checkin.check_in(svc, None, "barcode", ok["accession"], by=nurse)["results"]
    ticket = next(r for r in results if r["ok"])["ticket"]
    login(page, live_server, username)
    page.goto(f"{live_server.base}/panels/room-desk?room=1")
    page.wait_for_selector("#desk-waiting")
    assert ticket["code"] in page.inner_text("#desk-waiting")
    page.click("#desk-call")
    page.wait_for_function(f"document.getElementById('desk-current-code').innerText === '{ticket['code']}'")
    page.click("#desk-missed")
    page.wait_for_selector("#desk-missed-list")
    page.wait_for_function(
        f"document.getElementById('desk-missed-list').innerText.includes('{ticket['code']}')")
    screenshot(page, "room_desk")
