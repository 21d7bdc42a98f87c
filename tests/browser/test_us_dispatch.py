"""Ultrasound dispatch in a real browser: a sonographer signs in and chooses a shift; a nurse moves a
patient into a full room; a room calls the next patient and the hall screen shows it."""

from __future__ import annotations

from typing import Any

from backend.db.models import Campus
from backend.db.models.screens import Screen
from backend.services import auth
from backend.services.base import transaction
from backend.services.patient_flow import shift_sessions
from tests.browser.conftest import enrol_device, login, pick_option, screenshot
from tests.conftest import PASSWORDS
from tests.us_helpers import check_in_us, room_id, shift_id


def _pick(page, selector, text):
    pick_option(page, selector, text)


def _actors(svc: Any) -> dict[str, Any]:
    return {u: auth.login(svc, u, PASSWORDS[u]) for u in ("clerk", "nurse", "sono", "admin")}


def _open_us1(svc: Any, actors: dict[str, Any], typist: bool = False) -> None:
    shift_sessions.open_session(svc, by=actors["sono"], shift_id=shift_id(svc, "乳腺上午班"),
                                room_id=room_id(svc, "US1"), with_typist=typist)


def test_sonographer_logs_in_and_chooses_a_shift(page: Any, live_server: Any) -> None:
    login(page, live_server, "sono")
    assert page.url.endswith("/panels/shift")
    page.wait_for_selector("#shift-none")
    _pick(page, "#shift-group", "上午班")
    _pick(page, "#shift-shift", "乳腺上午班")
    _pick(page, "#shift-room", "US1")
    page.check("#shift-typist")
    screenshot(page, "us_shift_choice")
    page.click("#shift-start")
    page.wait_for_url("**/panels/us-room")
    title = page.wait_for_selector("#usroom-title").inner_text()
    assert "乳腺上午班" in title
    assert "打字员有" in title
    assert "上限 12" in title
    screenshot(page, "us_room_after_shift")


def test_nurse_moves_a_patient_to_a_full_room(page: Any, live_server: Any) -> None:
    svc = live_server.services
    actors = _actors(svc)
    _open_us1(svc, actors)
    codes = [check_in_us(svc, actors)["ticket"]["code"] for _ in range(9)]
    login(page, live_server, "nurse", next_path="/panels/triage")
    badge = page.wait_for_selector("#triage-load-US1")
    assert badge.inner_text() == "分诊 8 / 上限 8"
    assert codes[-1] in page.inner_text("#triage-pool")
    _pick(page, "#triage-ticket", codes[-1])
    _pick(page, "#triage-target", "US1")
    page.click("#triage-assign")
    flash = page.wait_for_selector("#triage-flash-msg").inner_text()
    assert "已分到" in flash, flash
    page.locator("#triage-load-US1", has_text="分诊 9 / 上限 8").wait_for()
    assert codes[-1] in page.inner_text("#triage-patients-US1")
    screenshot(page, "us_triage_moved_to_full_room")


def test_room_calls_next_and_the_hall_screen_shows_it(page: Any, browser: Any, live_server: Any) -> None:
    svc = live_server.services
    actors = _actors(svc)
    with transaction(svc) as tx:
        main = tx.session.query(Campus).filter_by(code="MAIN").one().id
        tx.session.add(Screen(code="HALL-US", name="超声候诊屏", campus_id=main, layout="hall-main.toml",
                              queue_codes=["US-BREAST", "US-THYROID"], notice="", active=True, voice_enabled=False,
                              voice_repeat=1))
    _open_us1(svc, actors)
    first = check_in_us(svc, actors)["ticket"]["code"]
    check_in_us(svc, actors)
    hall = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN").new_page()
    enrol_device(hall, live_server, "screen", "HALL-US")
    hall.goto(f"{live_server.base}/screens/HALL-US")
    hall.wait_for_selector(".hall-waiting .hall-row")
    hall.wait_for_timeout(800)  # the Socket.IO connection joins its rooms
    login(page, live_server, "sono", next_path="/panels/us-room")
    page.goto(f"{live_server.base}/panels/us-room")
    page.wait_for_selector("#usroom-waiting")
    page.click("#usroom-call")
    page.wait_for_function(f"() => (document.querySelector('#usroom-current') || {{}}).innerText === '{first}'")
    hall.locator(".hall-now_calling", has_text=first).wait_for(timeout=5000)
    screenshot(page, "us_room_called")
    screenshot(hall, "us_hall_screen_called")
    hall.context.close()
