"""The hall screen in a real browser (QS-1..3): a call from the room desk service appears at once,
then the patient shows in the missed block where the layout puts it, masked, and the call is spoken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.services import auth
from backend.services.orders import registration
from backend.services.patient_flow import calling, checkin, screens
from tests.browser.conftest import LiveServer, enrol_device, screenshot
from tests.conftest import PASSWORDS, FakeClock
from tests.helpers import register
from tests.screen_helpers import checked_in, room_id

W, H = 1920, 1080


@pytest.fixture
def hall(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": W, "height": H}, locale="zh-CN", timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def _actors(svc: Any) -> dict[str, Any]:
    return {u: auth.login(svc, u, PASSWORDS[u]) for u in ("clerk", "nurse", "tech", "admin")}


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _open(page: Any, live_server: Any, code: str) -> None:
    enrol_device(page, live_server, "screen", code)
    page.goto(f"{live_server.base}/screens/{code}")
    page.wait_for_selector(".hall-now_calling .hall-row")
    page.wait_for_timeout(800)  # let the Socket.IO connection join its campus room


def test_call_then_missed_on_the_right_masked(hall: Any, live_server: Any) -> None:
    svc = live_server.services
    actors = _actors(svc)
    for name in ("张小明", "欧阳娜娜", "John Smith", "李雷"):
        checked_in(svc, actors, name)
    _open(hall, live_server, "HALL-MAIN")
    assert hall.locator(".hall-waiting .hall-row").count() == 4
    ticket = calling.call_next(svc, room_id(svc, "DR1"), by=actors["tech"])
    live = hall.locator(".hall-now_calling .hall-calling-live", has_text=ticket["code"])
    live.wait_for(timeout=3000)  # pushed over Socket.IO, not the 30 s re-sync
    assert "张*明" in live.inner_text()
    hall.wait_for_function("() => (window.radopsSpoken || []).length > 0", timeout=3000)
    spoken = hall.evaluate("() => window.radopsSpoken")
    assert spoken[-1] == f"请 {ticket['code']} 号 张*明 到 DR1室 检查"
    calling.recall(svc, ticket["ticket_id"], by=actors["tech"])  # a recall is spoken again
    hall.wait_for_function("() => (window.radopsSpoken || []).length >= 2", timeout=3000)

    calling.mark_missed(svc, ticket["ticket_id"], by=actors["tech"])
    row = hall.locator(".hall-missed .hall-missed-row", has_text=ticket["code"])
    row.wait_for(timeout=5000)  # pushed: the slow re-sync is 30 s away
    assert "张*明" in row.inner_text()
    box = _box(hall, ".hall-missed")
    assert box["x"] > W * 0.6
    assert box["height"] > H * 0.6
    assert row.bounding_box()["x"] >= box["x"]
    text = hall.inner_text("#hall-screen")
    assert "张小明" not in text
    assert "欧阳娜娜" not in text
    assert "John" not in text
    assert hall.evaluate("() => document.documentElement.scrollHeight") <= H  # the page itself never scrolls
    shot = screenshot(hall, "hall_screen_main")
    assert shot.exists()


def test_missed_block_as_bottom_band_after_admin_assigns_layout(hall: Any, live_server: Any) -> None:
    svc = live_server.services
    actors = _actors(svc)
    sid = screens.screen_view(svc, "HALL-MAIN")[0]["id"]
    screens.assign_layout(svc, sid, "hall-missed-bottom.toml", by=actors["admin"])
    checked_in(svc, actors, "王小二", item="DR-BONE")
    checked_in(svc, actors, "赵四")
    _open(hall, live_server, str(sid))
    ticket = calling.call_next(svc, room_id(svc, "DR1"), by=actors["tech"])
    calling.mark_missed(svc, ticket["ticket_id"], by=actors["tech"])
    row = hall.locator(".hall-missed .hall-missed-row", has_text=ticket["code"])
    row.wait_for(timeout=5000)  # pushed: the slow re-sync is 30 s away
    assert "王*二" in row.inner_text()
    box = _box(hall, ".hall-missed")
    assert box["y"] > H * 0.6
    assert box["width"] > W * 0.9
    screenshot(hall, "hall_screen_missed_bottom")
    for name in ("孙一", "孙二", "孙三", "孙四"):  # more missed patients than the band's 3 rows: it pages
        checked_in(svc, actors, name)
    for _ in range(4):
        t = calling.call_next(svc, room_id(svc, "DR1"), by=actors["tech"])
        calling.mark_missed(svc, t["ticket_id"], by=actors["tech"])
    track = hall.locator(".hall-missed .hall-paged")
    track.wait_for(timeout=5000)  # eight events in a burst, each re-syncing the screen
    hall.wait_for_function("() => document.querySelectorAll('.hall-missed .hall-off').length > 0")
    shown = hall.locator(".hall-missed .hall-missed-row:not(.hall-off)")
    assert 1 <= shown.count() <= 3  # one page of the band's rows at a time (assets/hall_missed.js)
    assert float(track.get_attribute("data-seconds") or 0) >= 2


def test_admin_assigns_layout_and_previews(page: Any, live_server: Any) -> None:
    from tests.browser.conftest import login

    login(page, live_server, "admin", next_path="/admin/screens")
    page.goto(f"{live_server.base}/admin/screens")
    page.wait_for_selector("#screens-table")
    assert page.locator("#screens-table tbody tr").count() == 3
    sid = screens.screen_view(live_server.services, "HALL-MAIN")[0]["id"]
    page.select_option("#screens-screen", str(sid))
    page.select_option("#screens-layout", "hall-missed-bottom.toml")
    page.click("#screens-assign")
    page.wait_for_selector("#screens-ok")
    assert "hall-missed-bottom.toml" in page.inner_text("#screens-ok")
    assert screens.screen_view(live_server.services, "HALL-MAIN")[0]["layout"] == "hall-missed-bottom.toml"
    frame = page.frame_locator("#screens-preview-frame")
    frame.locator(".hall-missed").wait_for()
    screenshot(page, "admin_screens")


def test_east_campus_portrait_screen(browser: Any, live_server: Any) -> None:
    svc = live_server.services
    actors = _actors(svc)
    checked_in(svc, actors, "司马相如", item="E-DR-CHEST", campus_code="EAST")
    checked_in(svc, actors, "钱多多", item="E-DR-CHEST", campus_code="EAST")
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    try:
        page = context.new_page()
        _open(page, live_server, "HALL-EAST")
        ticket = calling.call_next(svc, room_id(svc, "EDR1"), by=actors["tech"])
        calling.mark_missed(svc, ticket["ticket_id"], by=actors["tech"])
        page.locator(".hall-missed .hall-missed-row", has_text=ticket["code"]).wait_for(timeout=5000)
        assert "司**如" in page.inner_text(".hall-missed")
        waiting, missed = _box(page, ".hall-waiting"), _box(page, ".hall-missed")
        assert missed["y"] > waiting["y"] + waiting["height"] - 1  # stacked below the waiting list
        screenshot(page, "hall_screen_east_portrait")
    finally:
        context.close()


def test_a_cancelled_exam_leaves_the_screen_at_once(hall: Any, live_server: Any) -> None:
    """ticket_cancelled reaches the screen over Socket.IO: the row goes now, not at the 30 s re-sync."""
    svc = live_server.services
    actors = _actors(svc)
    checked_in(svc, actors, "张小明")
    exam = register(svc, actors["clerk"], "DR-CHEST", name="欧阳娜娜")
    code = checkin.check_in_exam(svc, exam["exam_id"], None, by=actors["nurse"])["ticket"]["code"]
    enrol_device(hall, live_server, "screen", "HALL-MAIN")
    hall.goto(f"{live_server.base}/screens/HALL-MAIN")
    row = hall.locator(".hall-waiting .hall-row", has_text=code)
    row.wait_for(timeout=5000)
    hall.wait_for_timeout(800)  # let the Socket.IO connection join its campus room
    registration.cancel(svc, exam["exam_id"], reason="患者放弃检查", by=actors["clerk"])
    row.wait_for(state="detached", timeout=3000)
    assert hall.locator(".hall-waiting .hall-row").count() == 1


@pytest.fixture
def tokyo_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A site whose zone (settings) is neither the browser's nor the default one."""
    server = LiveServer(tmp_path, clock=FakeClock(), site_timezone="Asia/Tokyo").start()
    yield server
    server.stop()


def test_the_clock_shows_site_time_from_settings(browser: Any, tokyo_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": W, "height": H}, locale="zh-CN", timezone_id="UTC")
    try:
        page = context.new_page()
        enrol_device(page, tokyo_server, "screen", "HALL-MAIN")
        page.goto(f"{tokyo_server.base}/screens/HALL-MAIN")
        page.wait_for_selector("#hall-clock", state="attached")  # the layout arrives by a callback
        page.wait_for_function("() => /\\d\\d:\\d\\d:\\d\\d/.test(document.querySelector('#hall-clock').innerText)")
        shown = page.inner_text("#hall-clock")[:5]
        now = datetime.now(ZoneInfo("Asia/Tokyo"))
        assert shown in {f"{t:%H:%M}" for t in (now - timedelta(minutes=1), now)}
    finally:
        context.close()
