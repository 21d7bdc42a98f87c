"""The real MLLP listener on a free loopback port: real framed messages, ACKs, framing errors (PE-1, PE-2)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import hl7
import hl7.mllp
import pytest
from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.cli import main
from backend.db.models import Exam, Patient
from backend.entrypoints.listeners.mllp import start_listener, start_mllp
from backend.entrypoints.listeners.mllp_demo import send_demo_orders
from backend.services.base import transaction
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import HealthCheckOrder, MllpClient, build_message
from integrations.health_check.mllp import EB, SB, FrameDecoder, frame

AT = datetime(2026, 11, 27, 9, 0)


@pytest.fixture
def live(settings, fresh_db_url, clock):
    svc = build_services(settings.with_(database_url=fresh_db_url, mllp_port=0), clock=clock)
    server = start_listener(svc, host="127.0.0.1", port=0, max_frame=64 * 1024)
    yield svc, server
    server.stop()
    svc.session_factory.kw["bind"].dispose()


def msg(n: int, **kw) -> bytes:
    codec = kw.pop("codec", "utf-8")
    kind = kw.pop("kind", "ORM")
    charset = kw.pop("charset", None)
    base = {"control_id": f"IT{n:04d}", "placer_order_no": f"TJI{n:04d}", "mrn": f"TJI{n:06d}", "name": "李秀兰",
            "item_code": "US-THYROID", "sex": "F"}
    return build_message(HealthCheckOrder(**(base | kw)), at=AT, kind=kind, codec=codec, charset=charset)


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_frames(sock: socket.socket, n: int) -> list[bytes]:
    decoder, out = FrameDecoder(), []
    while len(out) < n:
        data = sock.recv(65536)
        assert data, "listener closed the connection early"
        out.extend(decoder.feed(data))
    return out


def exams(svc) -> int:
    with transaction(svc, readonly=True) as tx:
        return tx.session.scalar(select(func.count()).select_from(Exam)) or 0


def test_gb18030_order_round_trip_and_ack_content(live):
    svc, server = live
    with MllpClient("127.0.0.1", server.port) as client:
        raw_ack = client.send(msg(1, name="欧阳秀兰", codec="gb18030", kind="OMI"))
    text = raw_ack.decode("gb18030")
    msh, msa = text.split("\r")[:2]
    assert msh.startswith("MSH|^~\\&|RADOPS|RADIOLOGY|TJXT|TJZX|")
    assert "|ACK^O23^ACK|AIT0001|P|2.5.1|" in msh
    assert msh.endswith("|GB18030")
    assert msa.startswith("MSA|AA|IT0001|已登记，检查号 ")
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Patient.name).where(Patient.mrn == "TJI000001")).one() == "欧阳秀兰"


def test_two_messages_in_one_packet_get_two_acks_in_order(live):
    svc, server = live
    with connect(server) as sock:
        sock.sendall(frame(msg(1)) + frame(msg(2, codec="gb18030")))
        acks = [read_ack(a) for a in read_frames(sock, 2)]
    assert [(a.code, a.control_id) for a in acks] == [("AA", "IT0001"), ("AA", "IT0002")]
    assert exams(svc) == 2


def test_split_packet_is_reassembled(live):
    _svc, server = live
    data = frame(msg(1, name="张伟"))
    with connect(server) as sock:
        for i in range(0, len(data), 7):  # 7-byte pieces: the CJK name and the end block are split too
            sock.sendall(data[i:i + 7])
            time.sleep(0.001)
        [ack] = read_frames(sock, 1)
    assert read_ack(ack).code == "AA"


def test_garbage_before_start_block_gets_ar_and_close(live):
    svc, server = live
    with connect(server) as sock:
        sock.sendall(b"HELLO" + frame(msg(1)))
        [ack] = read_frames(sock, 1)
        assert sock.recv(100) == b""  # closed
    parsed = read_ack(ack)
    assert (parsed.code, parsed.control_id) == ("AR", "")
    assert parsed.text.startswith("garbage_before_start")
    assert exams(svc) == 0


def test_oversized_frame_gets_ar_and_close(live):
    svc, server = live
    with connect(server) as sock:
        sock.sendall(SB + b"MSH|" + b"x" * (70 * 1024))
        [ack] = read_frames(sock, 1)
        assert sock.recv(100) == b""
    assert read_ack(ack).text.startswith("frame_too_large")
    assert exams(svc) == 0


def test_broken_end_block_gets_ar(live):
    _svc, server = live
    with connect(server) as sock:
        sock.sendall(SB + msg(1) + EB + b"X")
        [ack] = read_frames(sock, 1)
    assert read_ack(ack).text.startswith("bad_end_block")


def test_refused_message_keeps_the_connection_open(live):
    svc, server = live
    with MllpClient("127.0.0.1", server.port) as client:
        bad = read_ack(client.send(msg(1, item_code="NO-SUCH")))
        wrong = read_ack(client.send(msg(2, codec="gb18030").replace(b"GB18030", b"UNICODE UTF-8")))
        junk = read_ack(client.send(b"this is not HL7"))
        good = read_ack(client.send(msg(3)))
    assert (bad.code, bad.error) == ("AR", "103")
    assert (wrong.code, wrong.control_id) == ("AR", "IT0002")
    assert junk.code == "AR"
    assert junk.text.startswith("missing_msh")
    assert good.code == "AA"
    assert exams(svc) == 1


def test_repeat_over_a_new_connection_gets_the_stored_ack(live):
    svc, server = live
    with MllpClient("127.0.0.1", server.port) as client:
        first = client.send(msg(1))
    with MllpClient("127.0.0.1", server.port) as client:
        second = client.send(msg(1))
    assert first.split(b"\r")[1] == second.split(b"\r")[1]  # the same MSA
    assert exams(svc) == 1


def test_concurrent_connections(live):
    svc, server = live
    results: list[str] = []

    def sender(k: int) -> None:
        with MllpClient("127.0.0.1", server.port) as client:
            for j in range(5):
                results.append(read_ack(client.send(msg(k * 100 + j))).code)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == ["AA"] * 20
    assert exams(svc) == 20


def test_run_starter_and_demo_orders_are_idempotent(live):
    """The embedded run's starter listens on settings.mllp_port; the demo sends the same ids each start."""
    svc, _server = live
    handle, line = start_mllp(svc)
    try:
        assert line.startswith("mllp://127.0.0.1:")
        assert send_demo_orders(svc, host="127.0.0.1", port=handle.port, count=4) == ["AA"] * 4
        assert send_demo_orders(svc, host="127.0.0.1", port=handle.port, count=4) == ["AA"] * 4
    finally:
        handle.stop()
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.execute(select(Exam.status, Exam.patient_class)).all()
    assert rows == [("registered", "health_check")] * 4


def test_health_check_send_command(live, tmp_path, monkeypatch, capsys):
    _svc, server = live
    monkeypatch.setenv("RADOPS_VAR_DIR", str(tmp_path / "var"))
    assert main(["health-check-send", "--demo", "--count", "2", "--port", str(server.port)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert all("\tAA\t" in line for line in out)
    path = tmp_path / "orders.hl7"
    path.write_bytes(msg(7).replace(b"\r", b"\n") + b"\n" + msg(8, item_code="NO-SUCH").replace(b"\r", b"\r\n"))
    assert main(["health-check-send", str(path), "--port", str(server.port)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["IT0007", "AA"], ["IT0008", "AR"]]


def test_same_message_on_parallel_connections_registers_once(live):
    """A sender that retries on a second connection before the first ACK came back: one exam, two AAs."""
    svc, server = live
    barrier = threading.Barrier(4)
    answers: list[bytes] = []

    def sender() -> None:
        with MllpClient("127.0.0.1", server.port) as client:
            barrier.wait()
            answers.append(client.send(msg(1)))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len({a.split(b"\r")[1] for a in answers}) == 1  # four identical MSA segments
    assert read_ack(answers[0]).code == "AA"
    assert exams(svc) == 1


def test_gb_18030_2000_as_table_0211_spells_it(live):
    """MSH-18 `GB 18030-2000`: registered (AA), answered in GB18030 with MSH-18 spelled as it came."""
    svc, server = live
    with MllpClient("127.0.0.1", server.port) as client:
        raw_ack = client.send(msg(1, name="欧阳秀兰", codec="gb18030", charset="GB 18030-2000"))
    msh, msa = raw_ack.decode("gb18030").split("\r")[:2]
    assert msh.endswith("|GB 18030-2000")
    assert msa.startswith("MSA|AA|IT0001|已登记")
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Patient.name).where(Patient.mrn == "TJI000001")).one() == "欧阳秀兰"


async def send_with_python_hl7(port: int, text: str, encoding: str) -> hl7.Message:
    """python-hl7's own MLLP client (asyncio streams): its framing, its encoding, its ACK parser."""
    reader, writer = await asyncio.wait_for(hl7.mllp.open_hl7_connection("127.0.0.1", port, encoding=encoding), 10)
    try:
        writer.writemessage(hl7.parse(text))
        await writer.drain()
        return await asyncio.wait_for(reader.readmessage(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize(("msh18", "codec", "name"), [
    ("GB 18030-2000", "gb18030", "欧阳秀兰"), ("gb 18030-2000", "gb18030", "東方明"),
    ("UNICODE UTF-8", "utf-8", "李秀兰"), ("UNICODE", "utf-8", "张伟"), ("GB18030", "gb18030", "刘芳"),
])
def test_an_independent_mllp_client_in_each_charset(live, msh18, codec, name):
    svc, server = live
    text = msg(1, name=name, codec=codec, charset=msh18).decode(codec)
    # In a thread of its own: a browser test's Playwright may have left an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        ack = pool.submit(asyncio.run, send_with_python_hl7(server.port, text, codec)).result(timeout=30)
    assert (ack.extract_field("MSA", 1, 1), ack.extract_field("MSA", 1, 2)) == ("AA", "IT0001")
    assert ack.extract_field("MSH", 1, 18) == msh18
    assert ack.extract_field("MSA", 1, 3).startswith("已登记，检查号 ")
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Patient.name).where(Patient.mrn == "TJI000001")).one() == name


def test_a_latin_1_order_gets_its_chinese_ack_in_utf8(live):
    """8859/1 cannot carry our Chinese answer: the ACK is UTF-8 and its MSH-18 says so."""
    svc, server = live
    text = msg(2, name="Zoë Müller", charset="8859/1").decode("utf-8")
    raw = text.replace("体检中心", "PE Center").replace("体检医生", "PE Doctor").encode("iso8859-1")
    with MllpClient("127.0.0.1", server.port) as client:
        raw_ack = client.send(raw)
    assert raw_ack.decode("utf-8").split("\r")[0].endswith("|UNICODE UTF-8")
    ack = read_ack(raw_ack)
    assert (ack.code, ack.control_id) == ("AA", "IT0002")
    assert ack.text.startswith("已登记")
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalars(select(Patient.name).where(Patient.mrn == "TJI000002")).one() == "Zoë Müller"
