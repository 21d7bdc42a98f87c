"""The interface monitor's log (issue 14.12-13): every HL7 message in (accepted or refused) and every result out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, BigId, TZDateTime


class InterfaceMessage(Base):
    """One message as it crossed the interface, with its raw bytes and what it was answered.

    Inbound rows are written for every message, refused ones included (a refused order writes nothing
    else); re-processing or a manual match updates the row. Outbound rows are written with the outbox
    row that sends them (`outbox_id`) and updated after every attempt. States: domain/interface_monitor.py.
    """

    __tablename__ = "interface_messages"
    __table_args__ = (Index("ix_interface_messages_direction_at", "direction", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in / out
    channel: Mapped[str] = mapped_column(String(8))  # mllp
    partner: Mapped[str] = mapped_column(String(64))  # hl7:<MSH-3>/<MSH-4> of the sender, or of the receiver
    control_id: Mapped[str] = mapped_column(String(64), index=True)  # MSH-10
    message_type: Mapped[str] = mapped_column(String(16))  # ORM^O01, OMI^O23, ORU^R01
    placer_order_no: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(TZDateTime)  # received, or queued
    state: Mapped[str] = mapped_column(String(16), index=True)  # MessageState
    ack_code: Mapped[str] = mapped_column(String(2), default="")  # AA / AE / AR; "" before any answer
    reason: Mapped[str] = mapped_column(String(32), default="")  # the latest refusal code
    first_reason: Mapped[str] = mapped_column(String(32), default="")  # the refusal code as first received
    ack_text: Mapped[str] = mapped_column(String(500), default="")
    charset: Mapped[str] = mapped_column(String(32), default="")  # MSH-18 as written
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # the bytes as received or last sent
    text: Mapped[str] = mapped_column(Text, default="")  # raw decoded by MSH-18 (undecodable bytes replaced)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    accession: Mapped[str | None] = mapped_column(String(32))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # sends, or re-processings of an inbound row
    handled_by: Mapped[str] = mapped_column(String(64), default="")  # who re-processed or matched it
    handled_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    note: Mapped[str] = mapped_column(String(200), default="")  # what the handling did
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)
