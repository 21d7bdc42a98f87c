"""The health-check center's result receiver, emulated (issue 14.13): a real MLLP server on loopback that reads
each ORU^R01, keeps it, answers an ACK in the message's charset, and shows what it received.

Fault switch (`fault`): "none" answers AA; "ae" answers AE (try again later); "ar" answers AR (never).
A repeated control id is acknowledged again and kept once (the center counts a result once).
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from backend.domain.errors import DomainError
from backend.domain.order_intake import AckCode, IntakeOutcome
from integrations.health_check import er7
from integrations.health_check.ack import build_ack
from integrations.health_check.message import MessageHeader
from integrations.health_check.mllp import FramingError
from integrations.health_check.server import MllpServer

logger = logging.getLogger(__name__)
FAULTS = ("none", "ae", "ar")


@dataclass(frozen=True, slots=True)
class ReceivedResult:
    """One result as the center's system keeps it."""

    control_id: str
    placer_order_no: str
    accession: str
    item: str
    status: str  # OBR-25: F / C
    sections: tuple[tuple[str, str], ...]
    pdf: bytes | None
    pdf_url: str
    charset: str
    received_at: datetime


class ResultReceiver:
    """Start with `start()`, stop with `stop()`; `results` in arrival order, `answered` counts every ACK."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, fault: str = "none") -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        self.fault = fault
        self.results: list[ReceivedResult] = []
        self.answered: list[tuple[str, str]] = []  # (control id, ACK code)
        self._lock = threading.Lock()
        self._server = MllpServer(host, port, self.handle, self._framing)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> ResultReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def by_placer(self, placer_order_no: str) -> list[ReceivedResult]:
        with self._lock:
            return [r for r in self.results if r.placer_order_no == placer_order_no]

    def handle(self, raw: bytes) -> bytes:
        header = None
        try:
            header = er7.parse_header(raw)
            result = read_result(raw)
        except DomainError as exc:
            return self._answer(header, IntakeOutcome(AckCode.AR, exc.code, exc.message, hl7_error="102"))
        if self.fault == "ae":
            return self._answer(header, IntakeOutcome(AckCode.AE, "busy", "体检系统繁忙，请稍后重发", hl7_error="207"))
        if self.fault == "ar":
            return self._answer(header, IntakeOutcome(AckCode.AR, "refused", "体检系统拒收该结果", hl7_error="207"))
        with self._lock:
            if all(r.control_id != result.control_id for r in self.results):
                self.results.append(result)
                logger.info("health-check emulator: result %s received for placer order %s (%s)",
                            result.control_id, result.placer_order_no, result.status)
        return self._answer(header, IntakeOutcome(AckCode.AA, "result_received", "体检系统已接收报告"))

    def _answer(self, header: MessageHeader | None, outcome: IntakeOutcome) -> bytes:
        with self._lock:
            self.answered.append((header.control_id if header else "", outcome.ack.value))
        return build_ack(header, outcome, at=datetime.now(UTC))

    def _framing(self, exc: FramingError) -> bytes:
        return build_ack(None, IntakeOutcome(AckCode.AR, exc.code, exc.message, hl7_error="100"), at=datetime.now(UTC))


def read_result(raw: bytes) -> ReceivedResult:
    """An ORU^R01 as the center reads it (raises a DomainError, an AR, when it is not one)."""
    msg = er7.decode(raw)
    if msg.header.type_label not in ("ORU^R01", "ORU^R01^ORU_R01"):
        raise DomainError(f"不是结果消息：{msg.header.type_label}", code="unsupported_message_type")
    obr, orc = msg.first("OBR"), msg.first("ORC")
    if obr is None:
        raise DomainError("结果消息缺少 OBR 段", code="segment_sequence")
    sections, pdf, url = [], None, ""
    for obx in msg.all("OBX"):
        kind = obx.get(2)
        if kind in ("TX", "FT", "ST"):
            sections.append((obx.get(3, 2), "\n".join(c[0] for c in obx.repetitions(5) if c)))
        elif kind == "ED":
            try:
                pdf = base64.b64decode(obx.get(5, 5), validate=True)
            except binascii.Error as exc:
                raise DomainError("PDF 附件不是有效的 Base64", code="invalid_attachment") from exc
        elif kind == "RP":
            url = obx.get(5, 1)
    return ReceivedResult(
        control_id=msg.header.control_id, placer_order_no=(orc.get(2) if orc else "") or obr.get(2),
        accession=obr.get(3), item=obr.get(4, 2) or obr.get(4, 1), status=obr.get(25), sections=tuple(sections),
        pdf=pdf, pdf_url=url, charset=msg.header.charset, received_at=datetime.now(UTC))


def describe(r: ReceivedResult) -> str:
    """The result as the emulator shows it (the `health-check-receive` command prints this)."""
    kind = {"F": "正式报告", "C": "更正报告"}.get(r.status, r.status)
    attachment = (f"PDF {len(r.pdf)} 字节" if r.pdf is not None
                  else f"PDF 地址 {r.pdf_url}" if r.pdf_url else "无附件")
    lines = [f"— 收到体检报告结果 {r.control_id}：申请单号 {r.placer_order_no}，检查号 {r.accession}，"
             f"{r.item}，{kind}，{attachment}，字符集 {r.charset or 'UTF-8'}"]
    lines += [f"  【{title}】{text}" for title, text in r.sections]
    return "\n".join(lines)
