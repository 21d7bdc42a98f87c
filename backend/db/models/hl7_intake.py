"""Inbound health-check orders (PE-1, PE-2): one row per accepted message, the key of intake idempotency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, BigId, TZDateTime


class InboundMessage(Base):
    """An accepted order message (HL7 over MLLP or JSON), written in the transaction that acted on it.

    A message with the same (sender, control_id) is answered from this row and changes nothing.
    Rejected messages are not stored (a bad message writes nothing); they are logged with their codes.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("sender", "control_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # mllp / json
    sender: Mapped[str] = mapped_column(String(64))  # hl7:<MSH-3>/<MSH-4> or api:<actor>
    control_id: Mapped[str] = mapped_column(String(64))  # MSH-10 or the JSON idempotency key
    message_type: Mapped[str] = mapped_column(String(16))  # ORM^O01, OMI^O23, json
    action: Mapped[str] = mapped_column(String(8))  # new / cancel / change
    placer_order_no: Mapped[str] = mapped_column(String(64), index=True)  # ORC-2
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the order content
    received_at: Mapped[datetime] = mapped_column(TZDateTime)
    outcome: Mapped[str] = mapped_column(String(32))  # order_new / order_cancel / order_change / order_repeat
    ack_code: Mapped[str] = mapped_column(String(2))
    ack_text: Mapped[str] = mapped_column(String(200))
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    accession: Mapped[str | None] = mapped_column(String(32))
    exam_status: Mapped[str | None] = mapped_column(String(16))  # the exam's status when answered
    requested_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # TQ1-7 / ORC-7.4: planned exam time
