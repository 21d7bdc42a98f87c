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


def test_sonographer_main_path_gate_identity_flags_and_sign_out_question(page: Any, live_server: Any) -> None:
    """Issue 15 items 7, 9, 11 and issue 14 item 9, as the sonographer meets them."""
    from datetime import date

    from backend.domain.registration import OrderData, PatientData
    from backend.services.orders import registration
    from backend.services.patient_flow import checkin

    svc = live_server.services
    actors = _actors(svc)
    login(page, live_server, "sono", next_path="/panels/exams")
    page.goto(f"{live_server.base}/panels/exams")
    page.wait_for_selector("#shell-shift-gate")  # US-7 hard gate: the exam list waits for the shift choice
    page.click("#shell-choose-shift")
    page.wait_for_url("**/panels/shift")
    _pick(page, "#shift-group", "上午班")
    _pick(page, "#shift-shift", "血管妇产上午班")
    _pick(page, "#shift-room", "US5")
    page.wait_for_selector("#shift-room-warning")  # US5 is set up for 血管 only (item 6)
    assert "妇产超声" in page.inner_text("#shift-room-warning")
    _pick(page, "#shift-room", "US6")
    page.wait_for_selector("#shift-room-warning")
    page.click("#shift-start")
    page.wait_for_url("**/panels/us-room")
    assert "自动结束" in page.wait_for_selector("#usroom-times").inner_text()
    for name, cls in (("郝美丽", "outpatient"), ("钱急诊", "emergency")):
        p = PatientData(mrn=f"UB{abs(hash(name)) % 10**6:06d}", name=name, sex="F", birth_date=date(1990, 3, 1))
        registration.register(svc, OrderData(patient=p, item_code="US-OB", slot_id=None, patient_class=cls),
                              by=actors["clerk"])
        checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])
    page.locator("#usroom-waiting", has_text="钱急诊").wait_for()
    rows = page.locator("#usroom-waiting tbody tr")
    assert "钱急诊" in rows.nth(0).inner_text()  # the emergency patient goes first,
    assert rows.nth(0).locator(".usroom-flag").inner_text() == "急诊"  # flagged
    second = rows.nth(1).inner_text()
    assert "郝美丽" in second  # staff see the full name, sex, age and MRN
    assert "女" in second

    screenshot(page, "us_room_identity_and_flags")
    page.click("#shell-logout")
    page.wait_for_url("**/logout")
    page.wait_for_selector("#logout-shift")
    screenshot(page, "us_sign_out_asks")
    page.check("#logout-keep-shift")
    page.click("#logout-submit")
    page.wait_for_url("**/login")
    sono = auth.login(svc, "sono", PASSWORDS["sono"])
    assert shift_sessions.current_session(svc, by=sono) is not None  # kept: ends at its window's end


def test_nurse_main_path_search_drag_and_drop_and_room_actions(page: Any, live_server: Any) -> None:
    """Issue 15 items 9 and 10 as the triage nurse meets them: full names, search, waiting time, totals,
    drag and drop from the pool into a full room, pausing and closing a room."""
    import json
    import time as _time

    svc = live_server.services
    actors = _actors(svc)
    _open_us1(svc, actors)
    codes = [check_in_us(svc, actors)["ticket"]["code"] for _ in range(9)]
    login(page, live_server, "nurse", next_path="/panels/triage")
    page.wait_for_selector("#triage-load-US1")
    assert "钱小红" in page.inner_text("#triage-pool")  # the full name, not 钱*红
    assert "已等" in page.inner_text("#triage-pool")
    assert "今日完成 0" in page.inner_text("#triage-today-US1")
    # The HTML5 drag events a drag of the card raises (dragstart on the card, dragover and drop on the room),
    # with one DataTransfer as the browser carries it; assets/triage_dnd.js handles them.
    dt = page.evaluate_handle("() => new DataTransfer()")
    src = page.locator("#triage-pool [data-ticket]", has_text=codes[-1])
    src.dispatch_event("dragstart", {"dataTransfer": dt})
    page.locator("#triage-room-US1").dispatch_event("dragover", {"dataTransfer": dt})
    page.locator("#triage-room-US1").dispatch_event("drop", {"dataTransfer": dt})
    page.locator("#triage-flash-msg", has_text="已分到").wait_for()
    page.locator("#triage-load-US1", has_text="分诊 9 / 上限 8").wait_for()
    assert codes[-1] in page.inner_text("#triage-patients-US1")
    screenshot(page, "us_triage_drag_and_drop")
    page.fill("#triage-search", codes[0])
    page.press("#triage-search", "Enter")
    page.wait_for_function("document.querySelectorAll('#triage-patients-US1 li').length === 1")
    assert codes[0] in page.inner_text("#triage-patients-US1")
    page.fill("#triage-search", "")
    page.press("#triage-search", "Enter")
    t0 = _time.perf_counter()
    new = check_in_us(svc, actors)["ticket"]["code"]
    page.locator("#triage-pool", has_text=new).wait_for(timeout=5000)
    print(json.dumps({"bench": "triage_board_redraw_after_checkin_browser", "seconds":  # a figure, not a test
                      round(_time.perf_counter() - t0, 3)}))
    page.locator("#triage-actions-US1 button", has_text="暂停").click()
    page.locator("#triage-load-US1", has_text="暂停").wait_for()
    page.locator("#triage-actions-US1 button", has_text="结班").click()
    page.locator("#triage-room-US1", has_text="未开班").wait_for()
    assert codes[0] in page.inner_text("#triage-pool")  # its patients are back in triage, none vanished
    screenshot(page, "us_triage_room_closed")


def test_hall_screen_flags_the_emergency_patient_with_her_name_masked(page: Any, live_server: Any) -> None:
    """Issue 15 item 7: the hall screen marks priority patients (急诊, or 优先 for the other classes)."""
    from backend.domain.registration import OrderData, PatientData
    from backend.services.orders import registration
    from backend.services.patient_flow import checkin

    svc = live_server.services
    actors = _actors(svc)
    with transaction(svc) as tx:
        main = tx.session.query(Campus).filter_by(code="MAIN").one().id
        tx.session.add(Screen(code="HALL-US2", name="超声候诊屏", campus_id=main, layout="hall-main.toml",
                              queue_codes=["US-BREAST"], notice="", active=True, voice_enabled=False, voice_repeat=1))
    _open_us1(svc, actors)
    plain = check_in_us(svc, actors)["ticket"]["code"]
    p = PatientData(mrn="UB900001", name="钱急诊", sex="F")
    registration.register(svc, OrderData(patient=p, item_code="US-BREAST", slot_id=None, patient_class="emergency"),
                          by=actors["clerk"])
    er = checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])["results"][0]["ticket"]["code"]
    page.set_viewport_size({"width": 1920, "height": 1080})
    enrol_device(page, live_server, "screen", "HALL-US2")
    page.goto(f"{live_server.base}/screens/HALL-US2")
    flagged = page.locator(".hall-waiting .hall-row", has=page.locator(".hall-flag"))
    flagged.first.wait_for()
    assert flagged.count() == 1
    row = flagged.first.inner_text()
    assert er in row
    assert "急诊" in row
    assert "钱*诊" in row  # the name stays masked
    assert "钱急诊" not in page.inner_text("#hall-screen")
    first = page.locator(".hall-waiting .hall-row").first.inner_text()
    assert er in first  # and she goes first
    assert plain in page.inner_text(".hall-waiting")
    screenshot(page, "us_hall_screen_priority_flag")
