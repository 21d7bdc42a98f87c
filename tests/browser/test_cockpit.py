"""The cockpit in a real browser: every panel on a 1920x1080 big screen with demo data, no scrolling,
masked names; desk mode drills down and exports; a report approval reaches the screen by itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import login, screenshot
from tests.cockpit_builders import event, make_exam, walk
from tests.cockpit_demo import fill

TILES = ["CP-1", "CP-2", "CP-7", "CP-8", "CP-9", "CP-10"]
GRAPHS = ["CP-3", "CP-4", "CP-5", "CP-6", "CP-11", "CP-12", "CP-13", "CP-14"]


@pytest.fixture
def demo(live_server: Any) -> Any:
    svc = live_server.services
    with svc.session_factory() as session:
        fill(session, now=live_server.clock(), tz=svc.tz, days=560, per_day=10)
    return live_server


def _value(page: Any, fig: str) -> str:
    return str(page.inner_text(f"#cockpit-tile-{fig} .cockpit-value"))


def test_big_screen_renders_every_panel_without_scrolling(demo: Any, page: Any) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    login(page, demo, "head")
    page.goto(f"{demo.base}/cockpit?mode=screen")
    page.wait_for_selector("#cockpit-tile-CP-1 .cockpit-value")
    for fig in GRAPHS:
        page.wait_for_selector(f"#cockpit-graph-{fig} .main-svg")
    page.wait_for_timeout(800)
    screenshot(page, "cockpit-screen-1920x1080")
    for fig in TILES:
        assert _value(page, fig).strip() not in ("", "—"), fig
    assert page.locator("#cockpit-panel-CP-15 .cockpit-wait-row").count() >= 4
    names = page.locator("#cockpit-panel-CP-15 .w-name").all_inner_texts()
    assert names
    assert all("*" in n for n in names)  # masked on the big screen
    size = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert size[0] <= 1920
    assert size[1] <= 1080
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('.cockpit-panel'))
        .map(e => { const r = e.getBoundingClientRect(); return [e.id, r.bottom, r.right]; })""")
    assert len(boxes) == 15
    assert all(bottom <= 1080 and right <= 1920 for _, bottom, right in boxes), boxes
    assert page.locator(".navbar").count() == 0


def test_desk_mode_drills_down_and_exports(demo: Any, page: Any) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    login(page, demo, "head")
    page.goto(f"{demo.base}/cockpit")
    page.wait_for_selector("#cockpit-tile-CP-1 .cockpit-value")
    page.wait_for_selector("#cockpit-graph-CP-13 .main-svg")
    screenshot(page, "cockpit-desk")
    ct = int(_value(page, "CP-1"))
    page.wait_for_timeout(1500)  # let the first refreshes (load, socket connect) finish before clicking
    page.click("#cockpit-tile-CP-1")
    page.wait_for_function("() => (document.querySelector('#cockpit-drill-title') || {}).innerText"
                           " && document.querySelector('#cockpit-drill-title').innerText.includes('明细')")
    assert f"（{ct} 例）" in page.inner_text("#cockpit-drill-title")
    assert page.locator("#cockpit-drill-modal tbody tr").count() == ct
    screenshot(page, "cockpit-drill")
    page.keyboard.press("Escape")
    href = page.get_attribute("#cockpit-xlsx-CP-11", "href")
    resp = page.request.get(f"{demo.base}{href}")
    assert resp.status == 200
    assert resp.body()[:2] == b"PK"


def test_report_approval_updates_the_screen(demo: Any, page: Any) -> None:
    svc, clock = demo.services, demo.clock
    now = clock()
    exam_id = make_exam(svc, clock, now - timedelta(minutes=40), "CT")
    walk(svc, clock, exam_id, [("registered", now - timedelta(minutes=35)), ("started", now - timedelta(minutes=30)),
                               ("completed", now - timedelta(minutes=20))])
    clock.set(now)
    page.set_viewport_size({"width": 1920, "height": 1080})
    login(page, demo, "head")
    page.goto(f"{demo.base}/cockpit?mode=screen")
    page.wait_for_selector("#cockpit-tile-CP-1 .cockpit-value")
    page.wait_for_function("() => document.querySelector('#cockpit-asof').innerText.length > 0")
    page.wait_for_timeout(500)
    before = int(_value(page, "CP-1"))
    event(svc, clock, exam_id, "report_approved", now + timedelta(minutes=1))  # no reload, no timer: the socket
    page.wait_for_function(
        f"() => document.querySelector('#cockpit-tile-CP-1 .cockpit-value').innerText == '{before + 1}'",
        timeout=8000)
    assert "09:01" in page.inner_text("#cockpit-asof")
