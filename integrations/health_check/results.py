"""Results back to the health-check center (issue 14.13): ORU^R01 written, sent over MLLP and acknowledged, and the
reader of stored order messages that re-processing uses.

ORU^R01 v2.5.1: MSH, PID, ORC (RE, placer order number, our accession), OBR (placer, filler, item, times,
OBR-25 F or C), one OBX TX per report section, and the PDF as one OBX ED (base64) or RP (a URL).
"""

from __future__ import annotations

import base64
import socket
from datetime import datetime, tzinfo

from backend.domain.order_intake import IntakeCommand
from backend.ports.health_check import HealthCheckResult, ResultAck
from integrations.errors import PartnerProtocolError, PartnerUnavailable
from integrations.health_check import er7
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import SENDER, MllpClient
from integrations.health_check.mapping import to_command
from integrations.health_check.message import charset_codec

RADOPS = ("RADOPS", "RADIOLOGY")  # MSH-3 / MSH-4 of our results
TS = "%Y%m%d%H%M%S%z"


def _ts(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime(TS) if at else ""


def _at(fields: dict[int, er7.Field]) -> list[er7.Field]:
    """Fields 1..max by their numbers in the standard, "" where none is given."""
    return [fields.get(i, "") for i in range(1, max(fields) + 1)]


def build_oru(r: HealthCheckResult, *, at: datetime, charset: str, tz: tzinfo) -> bytes:
    """The ORU^R01 for one result, encoded in `charset` (an MSH-18 value of HL7 table 0211)."""
    codec = charset_codec(charset)
    if codec is None:
        raise ValueError(f"unsupported MSH-18 for results: {charset!r}")
    item = (r.item_code, r.item_name, "TJXM")
    lines = [
        er7.msh(*RADOPS, *SENDER, at.astimezone(tz).strftime(TS), "", ("ORU", "R01", "ORU_R01"), r.control_id, "P",
                "2.5.1", "", "", "AL", "NE", "CHN", charset),
        er7.segment("PID", "1", "", er7.repeated((r.mrn, "", "", "TJZX", "MR")), "", r.patient_name, "",
                    r.birth_date.strftime("%Y%m%d") if r.birth_date else "", r.sex),
        er7.segment("ORC", "RE", r.placer_order_no, r.accession, "", "CM"),
        er7.segment("OBR", *_at({1: "1", 2: r.placer_order_no, 3: r.accession, 4: item, 7: _ts(r.observed_at, tz),
                                 22: _ts(r.approved_at, tz), 25: r.result_status, 32: ("", r.approver),
                                 35: ("", r.author)})),
    ]
    n = 0
    for n, (title, text) in enumerate(r.sections, 1):
        lines.append(er7.segment("OBX", str(n), "TX", (f"S{n}", title, "L"), "", text, "", "", "", "", "",
                                 r.result_status, "", "", _ts(r.approved_at, tz)))
    if r.pdf is not None:
        ed = ("RADOPS", "application", "pdf", "Base64", base64.b64encode(r.pdf).decode("ascii"))
        lines.append(er7.segment("OBX", str(n + 1), "ED", ("PDF", "报告单PDF", "L"), "", ed, "", "", "", "", "",
                                 r.result_status))
    elif r.pdf_url:
        lines.append(er7.segment("OBX", str(n + 1), "RP", ("PDF", "报告单PDF", "L"), "",
                                 (r.pdf_url, "RADOPS", "application", "pdf"), "", "", "", "", "", r.result_status))
    return er7.encode(lines, codec)


class MllpResultSender:
    """HealthCheckResults over MLLP: one connection per result, the ACK read before returning."""

    def __init__(self, host: str, port: int, *, charset: str = "UNICODE UTF-8", tz: tzinfo,
                 timeout: float = 10.0) -> None:
        if charset_codec(charset) is None:
            raise ValueError(f"unsupported MSH-18 for results: {charset!r}")
        self.host, self.port, self.charset, self.tz, self.timeout = host, port, charset, tz, timeout

    def send_result(self, *, result: HealthCheckResult) -> ResultAck:
        raw = build_oru(result, at=datetime.now(self.tz), charset=self.charset, tz=self.tz)
        try:
            with MllpClient(self.host, self.port, timeout=self.timeout) as client:
                answer = client.send(raw)
        except (OSError, ConnectionError) as exc:
            where = f"{self.host}:{self.port}"
            raise PartnerUnavailable(f"体检系统结果接口无法连接（{where}）：{type(exc).__name__}") from exc
        try:
            ack = read_ack(answer)
        except Exception as exc:
            raise PartnerProtocolError(f"体检系统的应答无法解析：{type(exc).__name__}") from exc
        if ack.control_id != result.control_id:
            raise PartnerProtocolError(f"体检系统应答的消息控制号不符：{ack.control_id}")
        return ResultAck(ack_code=ack.code, text=ack.text, sent=raw, sent_text=er7.readable_text(raw, self.charset),
                         charset=self.charset, partner=f"hl7:{SENDER[0]}/{SENDER[1]}")


class Er7OrderDecoder:
    """OrderDecoder: a stored raw order message read again by the same code the listener uses."""

    def decode_order(self, *, raw: bytes, tz: tzinfo) -> IntakeCommand:
        return to_command(er7.decode(raw), tz=tz)


def socket_free(host: str, port: int) -> bool:
    """Whether nothing listens at (host, port) (the run command starts the receiver emulator only then)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) != 0
