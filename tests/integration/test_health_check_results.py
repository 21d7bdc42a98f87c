"""Results back to the health-check center over real MLLP on loopback (issue 14, item 13): the job sends an
approved report as ORU^R01 through the outbox to the emulated center, which receives it with the placer order
number, the report text and the PDF; a center that was down gets it on a later try; AE is retried, AR is
dead; python-hl7 reads the same message; the `health-check-receive` command shows what arrives."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import hl7
import pytest

from backend.ports import Ports
from backend.services.orders import interface_monitor as monitor
from backend.services.reporting import hc_results
from integrations.health_check.result_receiver import ResultReceiver
from integrations.health_check.results import Er7OrderDecoder, MllpResultSender
from tests.conftest import ROOT
from tests.fakes import FakeInsuranceResolver
from tests.reporting_helpers import FINDINGS, IMPRESSION, approved

HC = {"source_system": "health_check", "patient_class": "health_check"}
TZ = ZoneInfo("Asia/Shanghai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def center_port() -> int:
    return free_port()


@pytest.fixture
def charset() -> str:
    return "UNICODE UTF-8"


@pytest.fixture
def ports(center_port: int, charset: str) -> Ports:
    """The real MLLP sender pointed at the emulated center's port (nothing listens there until a test starts it)."""
    return Ports(insurance=FakeInsuranceResolver(), order_decoder=Er7OrderDecoder(),
                 health_check=MllpResultSender("127.0.0.1", center_port, charset=charset, tz=TZ, timeout=5))


@pytest.fixture
def center(center_port: int):
    receiver = ResultReceiver("127.0.0.1", center_port).start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", "GB 18030-2000"])
def test_the_center_receives_the_report_with_its_placer_number_text_and_pdf(svc, actors, center, charset):
    exam = approved(svc, actors, source_order_no="TJL0001", **HC)
    assert hc_results.send_results(svc) == {"sent": 1, "retried": 0, "dead": 0}
    [got] = center.by_placer("TJL0001")
    assert (got.accession, got.status, got.item, got.charset) == (exam["accession"], "F", "胸部正位片", charset)
    texts = dict(got.sections)
    assert texts["检查所见"] == FINDINGS
    assert texts["诊断意见"] == IMPRESSION
    assert got.pdf is not None
    assert got.pdf.startswith(b"%PDF")
    assert center.answered == [(got.control_id, "AA")]
    [line] = monitor.list_messages(svc, by=actors["clerk"], direction="out")
    assert (line["state"], line["ack"], line["control_id"], line["charset"]) == ("sent", "AA", got.control_id, charset)
    raw = monitor.detail(svc, line["id"], by=actors["admin"])["text"]
    assert raw.startswith("MSH|^~\\&|RADOPS|RADIOLOGY|TJXT|TJZX|")
    assert "ORU^R01" in raw


def test_python_hl7_reads_the_same_result(svc, actors, center):
    """An independent parser (python-hl7) finds the placer number, the status, the text and the PDF we sent."""
    approved(svc, actors, source_order_no="TJL0002", **HC)
    hc_results.send_results(svc)
    [line] = monitor.list_messages(svc, by=actors["clerk"], direction="out")
    text = monitor.detail(svc, line["id"], by=actors["admin"])["text"]
    msg = hl7.parse(text)
    assert str(msg.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    assert str(msg.segment("ORC")[2]) == "TJL0002"
    assert str(msg.segment("OBR")[25]) == "F"
    obx = msg.segments("OBX")
    assert [str(o[2]) for o in obx] == ["TX", "TX", "ED"]
    assert {str(o[5]) for o in obx[:2]} == {FINDINGS, IMPRESSION}
    assert base64.b64decode(str(obx[2][5][0][4])).startswith(b"%PDF")


def test_a_center_that_was_down_gets_the_result_on_a_later_try(svc, actors, clock, center_port):
    approved(svc, actors, source_order_no="TJL0003", **HC)
    assert hc_results.send_results(svc) == {"sent": 0, "retried": 1, "dead": 0}  # nothing listens yet
    [line] = monitor.list_messages(svc, by=actors["clerk"], direction="out")
    assert (line["state"], line["reason"], line["attempts"]) == ("queued", "partner_unavailable", 1)
    assert "无法连接" in line["last_error"]
    receiver = ResultReceiver("127.0.0.1", center_port).start()
    try:
        assert hc_results.send_results(svc) is None  # the back-off holds it until it is due
        clock.advance(minutes=2)
        assert hc_results.send_results(svc) == {"sent": 1, "retried": 0, "dead": 0}
        [got] = receiver.by_placer("TJL0003")
        assert got.status == "F"
    finally:
        receiver.stop()
    assert monitor.detail(svc, line["id"], by=actors["clerk"])["state"] == "sent"


def test_ae_is_retried_with_the_same_control_id_and_ar_is_dead(svc, actors, clock, center):
    approved(svc, actors, source_order_no="TJL0004", **HC)
    center.fault = "ae"
    assert hc_results.send_results(svc)["retried"] == 1
    clock.advance(minutes=2)
    center.fault = "none"
    assert hc_results.send_results(svc)["sent"] == 1
    (first, c1), (second, c2) = center.answered
    assert (c1, c2, first == second) == ("AE", "AA", True)  # the retry is the same message to the center
    assert len(center.by_placer("TJL0004")) == 1
    approved(svc, actors, source_order_no="TJL0005", **HC)
    center.fault = "ar"
    assert hc_results.send_results(svc)["dead"] == 1
    line = monitor.list_messages(svc, by=actors["clerk"], q="TJL0005")[0]
    assert (line["state"], line["ack"]) == ("dead", "AR")


def test_the_receive_command_shows_each_result(svc, actors, center_port, tmp_path):
    log = tmp_path / "receive.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "backend", "health-check-receive", "--port", str(center_port),
                                 "--seconds", "20"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):  # bounded wait for the command's port to open
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", center_port)) == 0:
                    break
            proc.poll()
            assert proc.returncode is None, log.read_text()
            time.sleep(0.1)
        exam = approved(svc, actors, source_order_no="TJL0006", **HC)
        assert hc_results.send_results(svc)["sent"] == 1
        for _ in range(50):
            if "申请单号 TJL0006" in log.read_text():
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    shown = log.read_text()
    assert f"申请单号 TJL0006，检查号 {exam['accession']}" in shown
    assert f"【诊断意见】{IMPRESSION}" in shown
