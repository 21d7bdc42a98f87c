"""The imaging archive index (studies, series, instances: their files live in the image store) and the
known DICOM nodes (issue 10 items 2 and 3)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, BigId, TZDateTime


class DicomNode(Base):
    """A DICOM application entity we know: who may associate with us, and where we send (C-MOVE, dicom-send)."""

    __tablename__ = "dicom_nodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    ae_title: Mapped[str] = mapped_column(String(16), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(128), default="")
    can_store: Mapped[bool] = mapped_column(Boolean, default=False)
    can_query: Mapped[bool] = mapped_column(Boolean, default=False)
    can_retrieve: Mapped[bool] = mapped_column(Boolean, default=False)
    can_worklist: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


class ImagingStudy(Base):
    """One DICOM study (with its patient's identifying attributes), matched to an exam or not."""

    __tablename__ = "imaging_studies"
    __table_args__ = (
        Index("ix_imaging_studies_patient_date", "patient_id", "study_date"),
        Index("ix_imaging_studies_match_received", "match", "last_received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    match: Mapped[str] = mapped_column(String(16))
    accession: Mapped[str] = mapped_column(String(32), default="", index=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(128), default="")
    patient_sex: Mapped[str] = mapped_column(String(1), default="")
    patient_birth_date: Mapped[date | None] = mapped_column(Date)
    study_date: Mapped[date | None] = mapped_column(Date, index=True)
    study_time: Mapped[str] = mapped_column(String(16), default="")
    study_id: Mapped[str] = mapped_column(String(16), default="")
    description: Mapped[str] = mapped_column(String(128), default="")
    referring_physician: Mapped[str] = mapped_column(String(64), default="")
    modalities: Mapped[str] = mapped_column(String(64), default="")  # "CT\\SR", as ModalitiesInStudy
    series_count: Mapped[int] = mapped_column(Integer, default=0)
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    received_from: Mapped[str] = mapped_column(String(16), default="")
    first_received_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_received_at: Mapped[datetime] = mapped_column(TZDateTime)
    # Set when the study went quiet (no instance for RADOPS_STUDY_QUIET_S); cleared by a later instance.
    received_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class ImagingSeries(Base):
    __tablename__ = "imaging_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("imaging_studies.id"), index=True)
    series_uid: Mapped[str] = mapped_column(String(64), unique=True)
    modality: Mapped[str] = mapped_column(String(16), default="")
    series_number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(128), default="")
    body_part: Mapped[str] = mapped_column(String(32), default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    first_received_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_received_at: Mapped[datetime] = mapped_column(TZDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class ImagingInstance(Base):
    """One stored SOP instance: `path` is its key in the image store (domain/imaging.py::content_path)."""

    __tablename__ = "imaging_instances"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("imaging_series.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("imaging_studies.id"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[int | None] = mapped_column(Integer)
    transfer_syntax: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer, default=1)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    received_from: Mapped[str] = mapped_column(String(16), default="")
    received_at: Mapped[datetime] = mapped_column(TZDateTime)


class PerformedStep(Base):
    """A Modality Performed Procedure Step a scanner created (N-CREATE) and closed (N-SET) for an exam."""

    __tablename__ = "imaging_performed_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"), index=True)
    step_status: Mapped[str] = mapped_column(String(16))  # IN PROGRESS, COMPLETED, DISCONTINUED (DICOM's words)
    performed_by: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)
