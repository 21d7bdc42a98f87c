"""The interface monitor in a real browser (issue 14, items 12-13): orders sent over MLLP, one refused for an
unknown exam item and one for its charset, an approved report sent back as ORU^R01 to the emulated center;
the registration clerk sees them all with ACK and reason, reads the raw message masked, re-processes the
refused order once the item exists; a captured callback replayed without a session does nothing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from backend.entrypoints.listeners.mllp import start_listener
from backend.services.admin import items as admin_catalog
from backend.services.orders import interface_monitor as monitor
from backend.services.reporting import hc_results
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import HealthCheckOrder, MllpClient, build_message
from integrations.health_check.result_receiver import ResultReceiver
from tests.browser.conftest import LiveServer, login, screenshot
from tests.conftest import PASSWORDS
from tests.reporting_helpers import approved

pytestmark = pytest.mark.browser


def _send(port: int, n: int, item: str, **kw) -> str:
    o = HealthCheckOrder(control_id=f"IFM{n:04d}", placer_order_no=f"TJI{n:04d}", mrn=f"TJI{n:06d}", name="欧阳建国",
                         item_code=item, sex="M", birth_date="19680312", id_card="11010519491231002X")
    with MllpClient("127.0.0.1", port) as client:
        return read_ack(client.send(build_message(o, at=datetime(2026, 11, 27, 9, 0), **kw))).code


@pytest.fixture
def center(tmp_path: Path, live_clock):
    receiver = ResultReceiver().start()
    server = LiveServer(tmp_path, clock=live_clock, health_check_results_port=receiver.port).start()
    listener = start_listener(server.services, host="127.0.0.1", port=0)
    yield server, listener, receiver
    listener.stop()
    server.stop()
    receiver.stop()


def test_the_monitor_shows_every_message_and_a_refused_order_is_reprocessed(center, page):
    server, listener, receiver = center
    svc = server.services
    assert _send(listener.port, 1, "DR-CHEST") == "AA"
    assert _send(listener.port, 2, "CT-NEWX") == "AR"  # unknown exam item
    assert _send(listener.port, 3, "DR-CHEST", codec="utf-8", charset="GB18030") == "AR"  # wrong charset
    from backend.services import auth

    actors = {u: auth.login(svc, u, PASSWORDS[u]) for u in ("admin", "clerk", "tech", "doctor", "senior")}
    exam = approved(svc, actors, source_order_no="TJR0100", source_system="health_check",
                    patient_class="health_check")
    assert hc_results.send_results(svc) == {"sent": 1, "retried": 0, "dead": 0}
    [got] = receiver.by_placer("TJR0100")
    assert got.accession == exam["accession"]

    login(page, server, "clerk", next_path="/panels/interfaces")
    rows = page.locator("#ifm-rows tbody tr")
    rows.first.wait_for()
    assert rows.count() == 4
    table = page.locator("#ifm-rows").inner_text()
    for expected in ("IFM0001", "IFM0002", "IFM0003", "ORU^R01", "检查项目不存在或已停用", "字符集与内容不符",
                     "被拒收", "已送达", exam["accession"]):
        assert expected in table

    page.select_option("#ifm-ack", "AR")
    page.wait_for_function("document.querySelectorAll('#ifm-rows tbody tr').length === 2")
    page.select_option("#ifm-ack", "all")
    page.select_option("#ifm-direction", "out")
    page.wait_for_function("document.querySelectorAll('#ifm-rows tbody tr').length === 1")
    page.select_option("#ifm-direction", "all")
    page.wait_for_function("document.querySelectorAll('#ifm-rows tbody tr').length === 4")

    refused = page.locator("#ifm-rows tbody tr:has-text('IFM0002')")
    refused.get_by_role("button", name="查看").click()
    raw = page.locator("#ifm-raw")
    raw.wait_for()
    assert "TJI0002" in raw.inner_text()
    assert "欧阳建国" not in raw.inner_text()  # a clerk reads the raw message masked
    assert "欧**国" in raw.inner_text()
    assert "11010519491231002X" not in raw.inner_text()

    captured: list[str] = []
    page.on("request", lambda r: captured.append(r.post_data) if "_dash-update-component" in r.url and
            r.post_data and "ifm-reprocess" in r.post_data else None)
    screenshot(page, "interface-monitor-refused")
    page.click("#ifm-reprocess")  # the item does not exist yet: still refused
    page.wait_for_selector("#ifm-msg:has-text('仍被拒收')")
    assert captured

    # The captured callback replayed with no session changes nothing and answers nothing of the message.
    replay = httpx.post(f"{server.base}/_dash-update-component", content=captured[-1],
                        headers={"Content-Type": "application/json"}, timeout=10)
    anonymous = json.dumps(replay.json(), ensure_ascii=False)
    assert "登录已过期" in anonymous
    assert "TJI0002" not in anonymous
    assert "欧" not in anonymous
    [row] = monitor.list_messages(svc, by=actors["clerk"], q="TJI0002")
    assert row["attempts"] == 1
    # The same body with the clerk's session cookie is a working call (so the refusal above was the session's).
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    signed = httpx.post(f"{server.base}/_dash-update-component", content=captured[-1], cookies=cookies,
                        headers={"Content-Type": "application/json"}, timeout=10)
    assert "仍被拒收" in json.dumps(signed.json(), ensure_ascii=False)
    [row] = monitor.list_messages(svc, by=actors["clerk"], q="TJI0002")
    assert row["attempts"] == 2

    admin_catalog.create_item(svc, code="CT-NEWX", name="胸部低剂量CT（新）", modality="CT", by=actors["admin"])
    page.click("#ifm-reprocess")
    page.wait_for_selector("#ifm-msg:has-text('处理成功')")
    page.wait_for_selector("#ifm-rows tbody tr:has-text('IFM0002'):has-text('已处理')")
    assert "初次拒收原因：检查项目不存在或已停用" in page.locator("#ifm-detail").inner_text()
    page.locator("#ifm-rows tbody tr:has-text('ORU^R01')").get_by_role("button", name="查看").click()
    page.wait_for_selector("#ifm-raw:has-text('ORU^R01')")
    assert "TJR0100" in page.locator("#ifm-raw").inner_text()
    page.locator("#ifm-rows tbody tr:has-text('IFM0002')").get_by_role("button", name="查看").click()
    page.wait_for_selector("#ifm-detail:has-text('重新处理')")
    screenshot(page, "interface-monitor")
    assert json.loads(captured[-1])["inputs"]  # the replayed body was Dash's own JSON


def test_staff_without_the_register_permission_are_refused(center, page):
    server, _listener, _receiver = center
    login(page, server, "doctor", next_path="/panels/interfaces")
    page.wait_for_selector("#shell-refusal")
    assert "没有权限" in page.locator("#shell-refusal").inner_text()
