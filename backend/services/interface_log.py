"""The interface monitor's log (issue 14.12-13): write one row per HL7 message in or out, shared by the areas.

Inbound: the MLLP listener records every message after it answered (`record_inbound`), in a transaction of
its own, so a refused order (which writes nothing else) is still seen. Outbound: the reporting area adds a
row with the outbox row that sends it (`add_outbound`) and notes every attempt (`note_attempt`).
The monitor's reads and actions live in `services/orders/interface_monitor.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from backend.db.models.interfaces import InterfaceMessage
from backend.domain.interface_monitor import Direction, MessageState
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One inbound message as the listener saw it and what it answered."""

    raw: bytes
    text: str  # raw decoded by its MSH-18 (bytes that do not fit replaced)
    partner: str
    control_id: str
    message_type: str
    charset: str
    placer_order_no: str
    ack_code: str
    reason: str  # the outcome code: order_new..., or the refusal code
    ack_text: str
    exam_id: int | None = None
    accession: str | None = None


def record_inbound(svc: Services, msg: Received) -> int | None:
    """Log one received message (accepted or refused); a failure here never changes the ACK already built."""
    accepted = msg.ack_code == "AA"
    try:
        with transaction(svc) as tx:
            row = InterfaceMessage(
                direction=Direction.IN.value, channel="mllp", partner=msg.partner[:64],
                control_id=msg.control_id[:64], message_type=msg.message_type[:16],
                placer_order_no=msg.placer_order_no[:64], at=tx.now,
                state=(MessageState.ACCEPTED if accepted else MessageState.REFUSED).value,
                ack_code=msg.ack_code, reason="" if accepted else msg.reason[:32],
                first_reason="" if accepted else msg.reason[:32], ack_text=msg.ack_text[:500],
                charset=msg.charset[:32], raw=msg.raw, text=msg.text, exam_id=msg.exam_id, accession=msg.accession,
                attempts=0, handled_by="", note="", updated_at=tx.now)
            tx.session.add(row)
            tx.session.flush()
            return row.id
    except Exception:  # the monitor's log must never cost the sender its ACK
        logger.exception("interface log: inbound message %s not recorded", msg.control_id[:64])
        return None


def add_outbound(tx: Tx, *, outbox_id: int, control_id: str, message_type: str, placer_order_no: str,
                 exam_id: int, accession: str) -> InterfaceMessage:
    """Log a message about to be sent, in the transaction that queued it (its bytes come with each attempt)."""
    row = InterfaceMessage(
        direction=Direction.OUT.value, channel="mllp", partner="", control_id=control_id[:64],
        message_type=message_type, placer_order_no=placer_order_no[:64], at=tx.now,
        state=MessageState.QUEUED.value, ack_code="", reason="", first_reason="", ack_text="", charset="", raw=b"",
        text="", exam_id=exam_id, accession=accession, outbox_id=outbox_id, attempts=0, handled_by="", note="",
        updated_at=tx.now)
    tx.session.add(row)
    return row
