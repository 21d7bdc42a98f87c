"""The health cloud's ledger (HC-1..HC-9): one row per study the cloud is to have, one per file, and the
links to the registrations made through the cloud's old interface (HC-8)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, BigId, TZDateTime


class CloudLedgerStudy(Base):
    """A study's state on the cloud; life cycle in `backend/domain/health_cloud.py` (CLOUD_MACHINE)."""

    __tablename__ = "cloud_studies"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    accession: Mapped[str] = mapped_column(String(32), default="", index=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(128), default="")
    modality: Mapped[str] = mapped_column(String(16), default="")
    study_date: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # CloudStatus
    manual: Mapped[str | None] = mapped_column(String(8))  # ManualChoice: a person added or removed it
    generation: Mapped[int] = mapped_column(Integer, default=1)  # bumped by retry / add / re-upload
    registration_id: Mapped[str] = mapped_column(String(64), default="")
    old_cloud_id: Mapped[str] = mapped_column(String(64), default="")  # the old interface's record (HC-8)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    files_refused: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it failed or was skipped (Chinese)
    raw_answer: Mapped[str] = mapped_column(Text, default="")  # the cloud's unexpected answer, kept as it came
    next_retry_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # when the cloud drops it (HC-9)
    registered_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    uploaded_at: Mapped[datetime | None] = mapped_column(TZDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


class CloudLedgerFile(Base):
    """One file of a study as sent to the cloud: the cloud counts it once per `idempotency_key`."""

    __tablename__ = "cloud_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cloud_study_id: Mapped[int] = mapped_column(ForeignKey("cloud_studies.id"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # CloudFileStatus
    upload_id: Mapped[str] = mapped_column(String(64), default="")
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)  # what this side put on the wire, in all
    reason: Mapped[str] = mapped_column(Text, default="")
    uploaded_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


class CloudOldLink(Base):
    """A registration made through the cloud's old interface and the exam it was matched to (HC-8)."""

    __tablename__ = "cloud_old_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    old_cloud_id: Mapped[str] = mapped_column(String(64), unique=True)
    accession: Mapped[str] = mapped_column(String(32), default="", index=True)
    study_uid: Mapped[str] = mapped_column(String(64), default="", index=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(128), default="")
    study_date: Mapped[date | None] = mapped_column(Date)
    registered_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    matched_by: Mapped[str] = mapped_column(String(16), default="")  # OldLinkMatch
    note: Mapped[str] = mapped_column(Text, default="")  # the conflict, in Chinese
    imported_at: Mapped[datetime] = mapped_column(TZDateTime)
