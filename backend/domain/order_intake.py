"""Health-check order intake (PE-1, PE-2): the command both channels build, its outcome, and the ACK rules.

ACK codes (HL7 original mode, standards.md 7.3):
- AA: accepted (also for a repeat: the stored outcome is answered again, nothing changes);
- AR: the message itself is unusable and resending it unchanged can never succeed: framing, structure,
  unsupported type/version/charset, a missing or malformed required field, an unknown exam item;
- AE: a well-formed message that the current state refuses (cancel after the exam started, an order
  number reused for another order, a patient mismatch, an order to cancel that we never received)
  or a temporary failure on our side; the sender may resend once the cause is gone.
A rejected message (AE or AR) writes nothing: no patient, no exam, no intake record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backend.domain.errors import Conflict, DomainError, InvalidInput, InvalidTransition, NotFound
from backend.domain.registration import OrderData

SOURCE_SYSTEM = "health_check"  # Exam.source_system of every health-check order
MAX_ID = 64


class IntakeAction(StrEnum):
    NEW = "new"  # ORC-1 NW
    CANCEL = "cancel"  # ORC-1 CA
    CHANGE = "change"  # ORC-1 XO


class AckCode(StrEnum):
    AA = "AA"
    AE = "AE"
    AR = "AR"


# HL7 table 0357 (message error condition codes) used in ERR-3 / MSA-6.
HL7_ERRORS: dict[str, str] = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}

ACCEPTED_TEXT = {IntakeAction.NEW: "已登记", IntakeAction.CANCEL: "已取消", IntakeAction.CHANGE: "已修改"}


class IntakeRejected(DomainError):
    """A defect of an incoming order, with the ACK code and HL7 error it must be answered with."""

    def __init__(self, message: str, *, code: str, ack: AckCode = AckCode.AR, hl7_error: str = "207",
                 location: str = "") -> None:
        super().__init__(message, code=code)
        self.ack = ack
        self.hl7_error = hl7_error
        self.location = location
        self.status = 400 if ack is AckCode.AR else 409


def reject(message: str, code: str, hl7_error: str, location: str = "") -> IntakeRejected:
    """An AR: the message is unusable as sent."""
    return IntakeRejected(message, code=code, ack=AckCode.AR, hl7_error=hl7_error, location=location)


@dataclass(frozen=True, slots=True)
class IntakeCommand:
    """One order event from the health-check system: new, cancel or change, keyed for idempotency."""

    action: IntakeAction
    control_id: str  # MSH-10, or the JSON idempotency key
    sender: str  # namespace of control ids: "hl7:<MSH-3>/<MSH-4>" or "api:<actor>"
    channel: str  # "mllp" or "json"
    message_type: str  # "ORM^O01", "OMI^O23", "json"
    placer_order_no: str  # ORC-2
    order: OrderData | None = None  # required for new and change
    reason: str = ""  # why a cancel was sent (ORC-16)
    requested_at: datetime | None = None  # TQ1-7 / ORC-7.4: when the health-check center plans the exam
    fingerprint: str = ""  # hash of the business content, to spot a control id reused for another order


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    """What is answered: the ACK code, a stable code and Chinese text, and the exam it concerns."""

    ack: AckCode
    code: str
    text: str
    exam_id: int | None = None
    accession: str | None = None
    status: str | None = None
    hl7_error: str = ""
    location: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ack": self.ack.value, "code": self.code, "message": self.text, "exam_id": self.exam_id,
                "accession": self.accession, "status": self.status}


def validate_command(cmd: IntakeCommand) -> None:
    """Refuse a command without its keys, or a new/change without the order it describes."""
    if not cmd.control_id.strip() or len(cmd.control_id) > MAX_ID:
        raise reject("缺少消息控制号（MSH-10），或超过 64 位", "missing_control_id", "101", "MSH^1^10")
    if not cmd.placer_order_no.strip() or len(cmd.placer_order_no) > MAX_ID:
        raise reject("缺少申请单号（ORC-2），或超过 64 位", "missing_placer_order", "101", "ORC^1^2")
    if cmd.action is not IntakeAction.CANCEL and cmd.order is None:
        raise reject("新开或修改申请单必须包含患者与检查项目", "missing_order", "101", "OBR^1^4")


def fingerprint(parts: Iterable[str]) -> str:
    """A stable hash of an order's content (not of its transport timestamps)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def same_order(*, item_code: str, mrn: str, order: OrderData | None) -> bool:
    """A repeated NW for a known placer number is "the same order" when patient and item agree."""
    return order is not None and order.item_code == item_code and order.patient.mrn == mrn


def accepted(action: IntakeAction, *, exam_id: int, accession: str, status: str) -> IntakeOutcome:
    return IntakeOutcome(AckCode.AA, f"order_{action.value}", f"{ACCEPTED_TEXT[action]}，检查号 {accession}",
                         exam_id=exam_id, accession=accession, status=status)


def rejection(error: DomainError) -> IntakeOutcome:
    """Map any refusal to its ACK: input defects and unknown items are AR, state conflicts are AE."""
    if isinstance(error, IntakeRejected):
        return IntakeOutcome(error.ack, error.code, error.message, hl7_error=error.hl7_error,
                             location=error.location)
    if error.code == "unknown_exam_item":
        return IntakeOutcome(AckCode.AR, error.code, error.message, hl7_error="103", location="OBR^1^4")
    if isinstance(error, InvalidInput):
        return IntakeOutcome(AckCode.AR, error.code, error.message, hl7_error="102",
                             location=_FIELD_OF.get(error.code, ""))
    if isinstance(error, NotFound):
        return IntakeOutcome(AckCode.AE, error.code, error.message, hl7_error="204", location="ORC^1^2")
    if isinstance(error, Conflict | InvalidTransition):
        return IntakeOutcome(AckCode.AE, error.code, error.message, hl7_error="207")
    return IntakeOutcome(AckCode.AE, error.code, error.message, hl7_error="207")


def internal_error() -> IntakeOutcome:
    """A failure on our side (database unavailable...): AE so that the sender retries later."""
    return IntakeOutcome(AckCode.AE, "internal_error", "系统暂时无法处理该消息，请稍后重发", hl7_error="207")


# Where each registration input error points in an HL7 order, for ERR-2.
_FIELD_OF = {
    "invalid_mrn": "PID^1^3",
    "invalid_name": "PID^1^5",
    "invalid_sex": "PID^1^8",
    "invalid_id_card": "PID^1^3",
    "invalid_phone": "PID^1^13",
    "invalid_priority": "TQ1^1^9",
    "field_too_long": "OBR^1^13",
}
