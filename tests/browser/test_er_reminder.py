"""Emergency-report reminder popup in a real browser, with the server's clock under test control: it
pops up for the exam's doctor (also one who opens the page later), never for another doctor, beeps,
and acknowledging clears it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.services import timeline
from backend.services.reporting import er_reminders
from tests.browser.conftest import login, screenshot
from tests.cockpit_builders import assign_author, make_exam, walk


def emergency_exam(server: Any, author: str, *, name: str) -> int:
    """An emergency CT that ends now (report due in 60 min), taken by `author`."""
    svc, clock = server.services, server.clock
    now = clock()
    exam_id = make_exam(svc, clock, now - timedelta(minutes=30), "CT", patient_class="emergency", name=name)
    walk(svc, clock, exam_id, [("registered", now - timedelta(minutes=25)), ("checked_in", now - timedelta(minutes=20)),
                               ("started", now - timedelta(minutes=15)), ("completed", now)])
    from backend.services import auth

    user = auth.login(svc, author, "doctor123456")
    assign_author(svc, exam_id, user.id or 0, now)
    return exam_id


def test_popup_for_the_right_doctor_and_ack_clears_it(live_server: Any, browser: Any) -> None:
    pages = {}
    for who in ("doctor", "doctor2"):
        ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
        pages[who] = ctx.new_page()
        pages[who].set_default_timeout(15000)
    start = live_server.clock()
    first = emergency_exam(live_server, "doctor", name="钱急诊")
    live_server.clock.set(start + timedelta(minutes=50))
    assert er_reminders.scan(live_server.services)["shown"] == 1  # before the doctor has any page open

    doc, other = pages["doctor"], pages["doctor2"]
    login(doc, live_server, "doctor", next_path="/panels/exams")
    login(other, live_server, "doctor2", next_path="/panels/exams")
    doc.goto(f"{live_server.base}/panels/exams")
    other.goto(f"{live_server.base}/panels/exams")
    doc.wait_for_selector("#er-modal #er-card")  # a doctor who connects later sees the pending reminder
    assert doc.inner_text("#er-patient") == "钱急诊"
    assert "剩余 10 分钟" in doc.inner_text("#er-left")
    doc.wait_for_function("() => window.radopsEr && window.radopsEr.beeps >= 1")
    screenshot(doc, "er-reminder-popup")

    doc.click("#er-ack")
    doc.wait_for_selector("#er-modal", state="detached")
    kinds = [e["kind"] for e in timeline.events_of(live_server.services, first)]
    assert kinds[-2:] == ["er_reminder_shown", "er_reminder_acknowledged"]

    # A second emergency, pushed live over Socket.IO while both doctors have their pages open.
    live_server.clock.set(start)
    emergency_exam(live_server, "doctor", name="孙急诊")
    live_server.clock.set(start + timedelta(minutes=52))
    er_reminders.scan(live_server.services)
    doc.wait_for_selector("#er-modal #er-card", timeout=10000)
    assert doc.inner_text("#er-patient") == "孙急诊"
    assert "剩余 8 分钟" in doc.inner_text("#er-left")
    other.wait_for_timeout(1500)
    assert other.locator("#er-modal").count() == 0  # never for a doctor who does not read this exam
    screenshot(other, "er-reminder-other-doctor")
    for p in pages.values():
        p.context.close()
