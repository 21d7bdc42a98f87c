"""The health-check center (体检中心, PE-1..PE-3): orders in, results back as ORU^R01, in domain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Protocol

from backend.domain.order_intake import IntakeCommand


@dataclass(frozen=True, slots=True)
class HealthCheckResult:
    """An approved report as the health-check center receives it (one ORU^R01 per approved version)."""

    control_id: str  # MSH-10: the same on every retry of one unit of work
    placer_order_no: str  # ORC-2 / OBR-2: the center's own order number
    accession: str  # ORC-3 / OBR-3: ours (filler order number)
    mrn: str
    patient_name: str
    sex: str
    birth_date: date | None
    item_code: str
    item_name: str
    result_status: str  # F final, C corrected (an amended report approved again)
    version: int
    observed_at: datetime | None  # when the exam was done
    approved_at: datetime
    author: str
    approver: str
    sections: tuple[tuple[str, str], ...]  # (title, text) in the template's order: 检查所见, 诊断意见, ...
    pdf: bytes | None = None  # the printed report, sent as ED (base64) when set
    pdf_url: str = ""  # else (or also) where the center fetches it


@dataclass(frozen=True, slots=True)
class ResultAck:
    """What the center answered to a result, and the message as it went on the wire (for the monitor)."""

    ack_code: str  # AA / AE / AR
    text: str  # MSA-3 (or ERR) text
    sent: bytes  # the ER7 bytes sent
    sent_text: str  # the same, decoded, for display
    charset: str  # MSH-18 of the message sent
    partner: str  # hl7:<MSH-5>/<MSH-6>


class HealthCheckResults(Protocol):
    """Sends a result to the health-check center and returns its ACK.

    Raises `integrations.errors.IntegrationError` when the center cannot be reached or does not answer.
    """

    def send_result(self, *, result: HealthCheckResult) -> ResultAck: ...


class OrderDecoder(Protocol):
    """Reads a stored raw order message again (re-processing a refused one) into an intake command.

    Raises `order_intake.IntakeRejected` when the message still cannot be read.
    """

    def decode_order(self, *, raw: bytes, tz: tzinfo) -> IntakeCommand: ...
