"""Reports with versions, report templates, and critical values (危急值)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime
from backend.domain.critical_flow import CriticalStatus


class ReportTemplate(Base):
    """A report layout as data: named sections with default text (structured ones carry fields)."""

    __tablename__ = "report_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    modality_code: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="free")  # free / structured
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Report(Base):
    """The report of one exam; its text lives in versions, the newest being current."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    template_code: Mapped[str | None] = mapped_column(String(32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    version_lock: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version_lock}


class ReportVersion(Base):
    """One version of a report's text; an approved version is never changed again."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A typist (打字员) may type a draft for the author; the author stays responsible for the text.
    typed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(TZDateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    amend_reason: Mapped[str] = mapped_column(Text, default="")


class CriticalValue(Base):
    """A critical finding: raised, notified (to whom, how, read back), acknowledged."""

    __tablename__ = "critical_values"
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    finding: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16), default="high")
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    notified_to: Mapped[str | None] = mapped_column(String(64))
    notified_via: Mapped[str | None] = mapped_column(String(16))  # phone / system / in_person / sms
    notified_by: Mapped[str | None] = mapped_column(String(64))
    notified_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # as entered (may be earlier than entry)
    notified_recorded_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # when it was entered
    notify_late_reason: Mapped[str | None] = mapped_column(Text)  # why the time entered is earlier
    read_back: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    status: Mapped[str] = mapped_column(String(16), default=CriticalStatus.RAISED.value)  # critical_flow.py
