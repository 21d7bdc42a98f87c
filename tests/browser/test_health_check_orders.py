"""PE-1..PE-3 in a real browser: orders sent over MLLP by the health-check emulator appear in the
doctor's exam list as 体检 exams with status 已登记, including one that arrives while the page is open."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.entrypoints.listeners.mllp import start_listener
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import HealthCheckOrder, MllpClient, build_message
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


def _send(port: int, n: int, name: str, item: str, codec: str) -> str:
    o = HealthCheckOrder(control_id=f"BR{n:04d}", placer_order_no=f"TJB{n:04d}", mrn=f"TJB{n:06d}", name=name,
                         item_code=item, sex="F", birth_date="19750821")
    with MllpClient("127.0.0.1", port) as client:
        ack = read_ack(client.send(build_message(o, at=datetime(2026, 11, 27, 9, 0), codec=codec)))
    assert ack.code == "AA", ack.text
    return ack.text.rsplit(" ", 1)[-1]  # "已登记，检查号 <accession>"


def test_health_check_orders_show_in_the_exam_list(live_server, page):
    listener = start_listener(live_server.services, host="127.0.0.1", port=0)
    try:
        first = _send(listener.port, 1, "李秀兰", "MG-BILAT", "gb18030")
        second = _send(listener.port, 2, "王建国", "CT-LDCT", "utf-8")
        login(page, live_server, "doctor", next_path="/panels/exams")
        page.wait_for_selector("#exams-live.text-success")
        for acc, name in ((first, "李秀兰"), (second, "王建国")):
            row = page.locator(f"#exams-table tr:has-text('{acc}')")
            row.wait_for()
            text = row.inner_text()
            assert name in text
            assert "已登记" in text
            assert "体检" in text
        live = _send(listener.port, 3, "欧阳明", "US-THYROID", "gb18030")  # arrives while the page is open
        page.wait_for_selector(f"#exams-table tr:has-text('{live}')", timeout=10000)
        assert "已登记" in page.locator(f"#exams-table tr:has-text('{live}')").inner_text()
        screenshot(page, "exams-health-check-orders")
    finally:
        listener.stop()
