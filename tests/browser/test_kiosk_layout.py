"""Issue 14 on the kiosk, in Chromium: the main actions stay on screen on every profile and size (14.5), the
slip prints from the result and a re-scan shows the number again in green (14.3, 14.8), the keypad types
health-check MRNs (14.8), and each kiosk's header names only what it checks in (14.11)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.registration import PatientData
from backend.services import auth
from tests.browser.conftest import enrol_device, screenshot
from tests.conftest import PASSWORDS
from tests.services.kiosk_helpers import exam_for, new_patient

# Seven exams of one patient on each campus: slots at different hours for the items that need one.
MAIN_ITEMS = [("CT-CHEST", 9), ("CT-HEAD", 10), ("MR-BRAIN", 9), ("DR-CHEST", None), ("DR-BONE", None),
              ("MG-BILAT", 9), ("US-ABD", None)]
EAST_ITEMS = [("E-CT-CHEST", 9), ("E-CT-CHEST", 10), ("E-MR-BRAIN", 9), ("E-MR-BRAIN", 10), ("E-DR-CHEST", None),
              ("E-US-ABD", None), ("E-DR-CHEST", None)]


def _clerk(server: Any) -> Any:
    return auth.login(server.services, "clerk", PASSWORDS["clerk"])


def _seven_exams(server: Any, campus: str, mrn: str) -> PatientData:
    p = new_patient(name="欧阳小明", mrn=mrn)
    for item, hour in (EAST_ITEMS if campus == "EAST" else MAIN_ITEMS):
        exam_for(server.services, _clerk(server), p, item, hour=hour, campus_code=campus)
    return p


def _inside(page: Any, selector: str) -> dict[str, float]:
    """The element's box lies wholly inside the viewport (no scrolling needed to reach it)."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert box["x"] >= 0, (selector, box)
    assert box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"] + 0.5, (selector, box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (selector, box, size)
    return box


def _keypad(page: Any, keys: list[str]) -> None:
    for k in keys:
        page.click(f"#kiosk-pad button:text-is('{k}')")
    text = "".join(keys)
    page.wait_for_function(f"document.getElementById('kiosk-mrn').innerText === '{text}'")


SIZES = [("K3", 1280, 800), ("K3", 1366, 768), ("K3", 1024, 768), ("K1", 1080, 1920), ("K2", 1920, 1080),
         ("K2", 1366, 768)]


@pytest.mark.parametrize(("terminal", "width", "height"), SIZES)
def test_main_actions_stay_on_screen(live_server: Any, page: Any, terminal: str, width: int, height: int) -> None:
    mrn = f"8{width}{height}"
    _seven_exams(live_server, "EAST" if terminal == "K3" else "MAIN", mrn)
    page.set_viewport_size({"width": width, "height": height})
    enrol_device(page, live_server, "kiosk", terminal)
    page.goto(f"{live_server.base}/kiosk/{terminal}")
    page.wait_for_selector("#kiosk-scan:focus")
    _inside(page, "#kiosk-mode-evoucher")
    page.click("#kiosk-mode-mrn")
    page.wait_for_selector("#kiosk-pad", state="visible")
    _inside(page, "#kiosk-mrn-ok")
    assert page.locator("#kiosk-mode-evoucher").evaluate("e => e.scrollWidth <= e.clientWidth")  # no wrap/cut
    assert page.locator("#kiosk-mode-evoucher").evaluate(
        "e => e.getClientRects().length === 1 && e.innerText.indexOf('\\n') < 0")
    _keypad(page, list(mrn))
    page.click("#kiosk-mrn-ok")
    page.wait_for_selector("#kiosk-exams")
    assert page.locator(".kiosk-exam").count() == 7
    page.wait_for_selector("#kiosk-checkin:not([disabled])")
    _inside(page, "#kiosk-checkin")  # 全部签到 with the keypad still open and seven exams listed
    _inside(page, "#kiosk-home")
    assert page.evaluate("() => document.scrollingElement.scrollHeight <= window.innerHeight")
    screenshot(page, f"kiosk_{terminal}_{width}x{height}_exams")
    page.click("#kiosk-checkin")
    page.wait_for_selector("#kiosk-results")
    _inside(page, "#kiosk-home")
    assert page.evaluate("() => document.scrollingElement.scrollHeight <= window.innerHeight")
    screenshot(page, f"kiosk_{terminal}_{width}x{height}_results")


def test_slip_prints_and_a_rescan_shows_the_number_in_green(live_server: Any, page: Any) -> None:
    p = new_patient(name="王")
    exam = exam_for(live_server.services, _clerk(live_server), p)
    page.set_viewport_size({"width": 1080, "height": 1920})
    enrol_device(page, live_server, "kiosk", "K1")
    page.goto(f"{live_server.base}/kiosk/K1")
    page.wait_for_selector("#kiosk-scan:focus")
    page.keyboard.type(exam["accession"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-exams")
    page.click("#kiosk-checkin")
    page.wait_for_selector("#kiosk-results")
    code = page.inner_text(".kiosk-result.ok .kiosk-ticket-code")
    with page.context.expect_page() as opened:
        page.click(".kiosk-result.ok .kiosk-print")
    slip = opened.value
    slip.wait_for_selector("#slip-code")
    assert slip.inner_text("#slip-code") == code
    assert "自助机不存在" not in slip.content()
    assert slip.inner_text("#slip-name") == "*"  # a one-character name is masked on the slip too
    assert "前面还有" in slip.inner_text("#slip-ahead")
    assert "CT检查" in slip.inner_text("#slip-where")
    assert "签到时间" in slip.inner_text("#slip-time")
    assert "自助机重新签到" in slip.inner_text("#slip-note")
    slip.emulate_media(media="print")
    for mm, px in ((58, 219), (80, 302)):
        slip.set_viewport_size({"width": px, "height": 700})
        assert slip.evaluate("() => document.scrollingElement.scrollWidth") <= px, mm
        for part in ("#slip-code", "#slip-barcode", "#slip-note"):
            _inside(slip, part)
        screenshot(slip, f"kiosk_slip_{mm}mm")
    slip.close()

    page.click("#kiosk-home")
    page.wait_for_selector("#kiosk-results", state="detached")
    page.wait_for_selector("#kiosk-scan:focus")
    page.keyboard.type(exam["accession"])
    page.keyboard.press("Enter")
    row = page.locator(".kiosk-exam.again")
    row.wait_for()
    assert f"已签到 {code}" in row.inner_text()
    assert row.locator(".kiosk-state-done").evaluate("e => getComputedStyle(e.firstChild).color") == \
        "rgb(11, 138, 62)"  # green, not the red of a refusal
    assert page.locator(".kiosk-exam.bad").count() == 0
    assert "/kiosk/K1/ticket/" in (row.locator(".kiosk-print").get_attribute("href") or "")  # print again
    screenshot(page, "kiosk_rescan_checked_in")


def test_keypad_types_a_health_check_mrn(live_server: Any, page: Any) -> None:
    p = new_patient(name="体检张三", mrn="TJ00001234")
    exam_for(live_server.services, _clerk(live_server), p, "DR-CHEST", hour=None, patient_class="health_check")
    page.set_viewport_size({"width": 1280, "height": 800})
    enrol_device(page, live_server, "kiosk", "K1")
    page.goto(f"{live_server.base}/kiosk/K1")
    page.wait_for_selector("#kiosk-scan:focus")
    page.click("#kiosk-mode-mrn")
    page.wait_for_selector("#kiosk-pad", state="visible")
    _keypad(page, ["TJ", *"00001234"])
    page.click("#kiosk-mrn-ok")
    page.wait_for_selector("#kiosk-exams")
    assert page.locator(".kiosk-exam.ok").count() == 1
    screenshot(page, "kiosk_keypad_tj")


def test_each_header_names_what_the_kiosk_checks_in(live_server: Any, page: Any) -> None:
    enrol_device(page, live_server, "kiosk", "K2")
    page.goto(f"{live_server.base}/kiosk/K2")
    assert page.inner_text("#kiosk-scope") == "影像检查"  # K2 serves no ultrasound queue
    enrol_device(page, live_server, "kiosk", "K1")
    page.goto(f"{live_server.base}/kiosk/K1")
    assert page.inner_text("#kiosk-scope") == "影像检查 · 超声检查"
