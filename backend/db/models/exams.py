"""Patients, exams, the append-only exam timeline and queue tickets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, BigId, TZDateTime
from backend.domain.report_flow import ReportStatus


class Patient(Base):
    __tablename__ = "patients"
    # text_pattern_ops: PostgreSQL serves name = x and name LIKE 'x%' from it whatever the collation
    # (migration 0003); SQLite has a plain index that GLOB prefix searches use.
    __table_args__ = (Index("ix_patients_name", "name", postgresql_ops={"name": "text_pattern_ops"}),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(32), unique=True)  # 病案号
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(1), default="U")
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_card: Mapped[str | None] = mapped_column(String(32), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    insurance_no: Mapped[str | None] = mapped_column(String(64), index=True)
    cadre_health: Mapped[bool] = mapped_column(Boolean, default=False)
    military: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 军人 (0022)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)


class Exam(Base):
    """One requested procedure, keyed by its accession number (检查号)."""

    __tablename__ = "exams"
    __table_args__ = (
        UniqueConstraint("source_system", "source_order_no"),
        Index("ix_exams_status_created", "status", "created_at"),
        Index("ix_exams_modality_created", "modality_code", "created_at"),
        Index("ix_exams_created_id", "created_at", "id"),
        Index("ix_exams_report_status_created", "report_status", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    accession: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    exam_item_id: Mapped[int] = mapped_column(ForeignKey("exam_items.id"), index=True)
    modality_code: Mapped[str] = mapped_column(ForeignKey("modalities.code"))
    body_part: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(16), default="routine")
    patient_class: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[str] = mapped_column(String(16), default="routine")
    ordering_department: Mapped[str] = mapped_column(String(64), default="")
    ordering_doctor: Mapped[str] = mapped_column(String(64), default="")
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id"), index=True)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"), index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    source_system: Mapped[str] = mapped_column(String(32), default="ris")
    source_order_no: Mapped[str | None] = mapped_column(String(64))
    clinical_info: Mapped[str] = mapped_column(Text, default="")
    paid: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    report_status: Mapped[str] = mapped_column(String(16), default=ReportStatus.NONE.value)
    report_due_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    patient: Mapped[Patient] = relationship(lazy="joined", innerjoin=True)
    __mapper_args__ = {"version_id_col": version}


class ExamEvent(Base):
    """The append-only timeline: every state change and notable act, with who and when."""

    __tablename__ = "exam_events"
    __table_args__ = (
        Index("ix_exam_events_exam_at", "exam_id", "at"),
        Index("ix_exam_events_kind_at", "kind", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(TZDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # "user:12", "api_key:3", "system"
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QueueTicket(Base):
    """A patient's place in a queue for one exam, numbered per queue per day (CT015)."""

    __tablename__ = "queue_tickets"
    __table_args__ = (
        UniqueConstraint("queue_id", "day", "number"),
        Index("ix_queue_tickets_queue_day_status", "queue_id", "day", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), unique=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), index=True)
    first_room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    day: Mapped[date] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16), default="routine")
    checked_in_at: Mapped[datetime] = mapped_column(TZDateTime)
    sort_at: Mapped[datetime] = mapped_column(TZDateTime)  # where the ticket stands in line
    line_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # tie-break after sort_at (domain/queueing.py)
    called_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
