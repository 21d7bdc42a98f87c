"""ACK building (MSH/MSA/ERR in the order's charset) and MLLP framing, without sockets."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.domain.order_intake import AckCode, IntakeOutcome
from integrations.health_check import er7
from integrations.health_check.ack import build_ack, read_ack
from integrations.health_check.message import MessageHeader
from integrations.health_check.mllp import FrameDecoder, FramingError, frame

AT = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HEADER = MessageHeader(sending_app="TJXT", sending_facility="TJZX", message_type="ORM", trigger="O01",
                       control_id="C42", processing_id="P", version="2.3.1", charset="GB18030")


def test_accept_ack_echoes_control_id_in_the_orders_charset():
    raw = build_ack(HEADER, IntakeOutcome(AckCode.AA, "order_new", "已登记，检查号 RA1"), at=AT)
    assert raw.decode("gb18030").startswith(
        "MSH|^~\\&|RADOPS|RADIOLOGY|TJXT|TJZX|20261127090000+0800||ACK^O01^ACK|AC42|P|2.3.1")
    segments = raw.decode("gb18030").split("\r")
    assert segments[0].endswith("|GB18030")
    assert segments[1] == "MSA|AA|C42|已登记，检查号 RA1"
    assert not any(s.startswith("ERR") for s in segments)
    assert "已登记".encode("gb18030") in raw
    ack = read_ack(raw)
    assert (ack.code, ack.control_id, ack.text) == ("AA", "C42", "已登记，检查号 RA1")


def test_error_ack_carries_err_with_location_and_table_0357_code():
    out = IntakeOutcome(AckCode.AR, "missing_patient_id", "缺少患者标识（PID-3 病案号/体检号）", hl7_error="101",
                        location="PID^1^3")
    raw = build_ack(replace(HEADER, charset="UNICODE UTF-8", version="2.5.1"), out, at=AT)
    text = raw.decode("utf-8")
    msa, err = text.split("\r")[1:3]
    assert msa == "MSA|AR|C42|missing_patient_id: 缺少患者标识（PID-3 病案号/体检号）"
    assert err == "ERR||PID^1^3|101^Required field missing^HL70357|E||||缺少患者标识（PID-3 病案号/体检号）"
    assert read_ack(raw).error == "101"


def test_ack_without_header_is_utf8_and_escapes_separators():
    raw = build_ack(None, IntakeOutcome(AckCode.AR, "garbage_before_start", "a|b^c"), at=AT)
    msa = raw.decode("utf-8").split("\r")[1]
    assert msa == "MSA|AR||garbage_before_start: a\\F\\b\\S\\c"
    assert read_ack(raw).text == "garbage_before_start: a|b^c"


def test_escape_round_trip():
    value = "a|b^c~d\\e&f"
    assert er7.unescape(er7.escape(value), er7.DEFAULT_ENCODING) == value


def test_decoder_two_frames_in_one_packet_and_split_frames():
    d = FrameDecoder()
    assert d.feed(frame(b"A") + frame(b"B")) == [b"A", b"B"]
    whole = frame(b"MSH|x\rPID|1\r")
    assert d.feed(whole[:3]) == []
    assert d.feed(whole[3:-1]) == []  # end block arrived, CR not yet
    assert d.feed(whole[-1:]) == [b"MSH|x\rPID|1\r"]
    assert d.feed(b"\r\n" + frame(b"C")) == [b"C"]
    assert d.pending == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"hello" + frame(b"A"), "garbage_before_start"), (b"\x0bA\x1cX", "bad_end_block"),
     (b"\x0bA\x0bB\x1c\r", "nested_start_block"), (b"\x0b" + b"x" * 2000, "frame_too_large")],
)
def test_decoder_framing_errors(data, code):
    with pytest.raises(FramingError) as exc:
        FrameDecoder(max_size=1024).feed(data)
    assert exc.value.code == code
