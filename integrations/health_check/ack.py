"""Build and read HL7 ACK messages (MSH, MSA and, when refused, ERR), in the order's own charset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.domain.order_intake import HL7_ERRORS, AckCode, IntakeOutcome
from integrations.health_check.er7 import decode, encode, msh, segment
from integrations.health_check.message import MessageHeader, charset_codec

RECEIVER = ("RADOPS", "RADIOLOGY")  # MSH-3 / MSH-4 of our ACKs


def build_ack(header: MessageHeader | None, outcome: IntakeOutcome, *, at: datetime) -> bytes:
    """The ACK for `header`'s message (or a bare one when no header could be read).

    It is written in the order's own charset, MSH-18 spelled as the sender spelled it. Our answers are
    Chinese, which ASCII and 8859/n cannot carry: such an ACK (and one to an unknown charset) is written in
    UTF-8 and says so in its own MSH-18, which is what a receiver decodes it by.
    """
    h = header or MessageHeader()
    codec = charset_codec(h.charset)
    if codec is not None:
        try:
            return encode(_lines(h, outcome, at=at, charset=h.charset), codec)
        except UnicodeEncodeError:
            pass
    return encode(_lines(h, outcome, at=at, charset="UNICODE UTF-8" if h.charset.strip() else ""), "utf-8")


def _lines(h: MessageHeader, outcome: IntakeOutcome, *, at: datetime, charset: str) -> list[str]:
    text = outcome.text if outcome.ack is AckCode.AA else f"{outcome.code}: {outcome.text}"
    lines = [
        msh(RECEIVER[0], RECEIVER[1], h.sending_app, h.sending_facility, at.strftime("%Y%m%d%H%M%S%z"), "",
            ("ACK", h.trigger, "ACK") if h.trigger else "ACK", f"A{h.control_id}"[:50] if h.control_id else "A",
            "P", h.version or "2.5", "", "", "", "", "", charset),
        segment("MSA", outcome.ack.value, h.control_id, text[:200]),
    ]
    if outcome.ack is not AckCode.AA:
        err = outcome.hl7_error or "207"
        location = tuple(outcome.location.split("^"))  # segment^sequence^field
        lines.append(segment("ERR", "", location, (err, HL7_ERRORS.get(err, ""), "HL70357"), "E", "", "", "",
                             outcome.text[:200]))
    return lines


@dataclass(frozen=True, slots=True)
class Ack:
    """An ACK as read by the emulator: code, the control id it answers, text, and ERR-3 when present."""

    code: str
    control_id: str
    text: str
    error: str = ""


def read_ack(raw: bytes) -> Ack:
    """Parse an ACK (charset from its MSH-18)."""
    msg = decode(raw)
    msa = msg.first("MSA")
    if msa is None:
        raise ValueError("ACK without MSA")
    err = msg.first("ERR")
    return Ack(code=msa.get(1), control_id=msa.get(2), text=msa.get(3), error=err.get(3) if err else "")

