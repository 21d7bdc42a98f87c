"""The cadre-health upload (CD-1..CD-4): the roster of covered persons and the ledger of exams to upload, with
each file's and each report version's progress. States: backend/domain/cadre_health.py."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, BigId, TZDateTime


class CadreRosterEntry(Base):
    """One covered person (保健对象) as the system's roster last listed them (the roster job refreshes it)."""

    __tablename__ = "cadre_roster"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_no: Mapped[str] = mapped_column(String(32), unique=True)  # 身份证号, upper case: matched to Patient.id_card
    name: Mapped[str] = mapped_column(String(64), default="")
    card_no: Mapped[str] = mapped_column(String(32), default="")
    level: Mapped[str] = mapped_column(String(16), default="")
    valid_until: Mapped[date | None] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(TZDateTime)


class CadreUpload(Base):
    """One exam on the upload ledger: why it is there, its state and progress, the last failure."""

    __tablename__ = "cadre_uploads"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # CadreSource
    state: Mapped[str] = mapped_column(String(16), index=True)  # CadreUploadState
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    report_version: Mapped[int] = mapped_column(Integer, default=0)  # the newest version posted (0: none)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Raised when an admin adds a removed exam again, so its outbox keys are new (cadre_upload:<exam>:<gen>:v<n>).
    generation: Mapped[int] = mapped_column(Integer, default=1)
    outbox_id: Mapped[int | None] = mapped_column(Integer)  # the newest unit of work queued for it
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_try_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    added_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)


class CadreUploadFile(Base):
    """One original image file of a ledger exam: stored in the object storage, then its details posted."""

    __tablename__ = "cadre_upload_files"
    __table_args__ = (UniqueConstraint("upload_id", "sop_uid"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("cadre_uploads.id"), index=True)
    sop_uid: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(36))
    object_key: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16))  # CadreFileState
    record_id: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


class CadreUploadReport(Base):
    """One approved report version of a ledger exam, posted (or not yet) with its PDF's object key."""

    __tablename__ = "cadre_upload_reports"
    __table_args__ = (UniqueConstraint("upload_id", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("cadre_uploads.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    pdf_key: Mapped[str] = mapped_column(String(400), default="")
    record_id: Mapped[str] = mapped_column(String(64), default="")  # "" until posted
    posted_at: Mapped[datetime | None] = mapped_column(TZDateTime)
