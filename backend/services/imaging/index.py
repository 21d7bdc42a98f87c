"""Lookups in the archive index for the readers (DICOM Q/R, DICOMweb, the viewer, uploads): plain
values, no authorisation or audit here (the entry point that serves a person does both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select

from backend.db.models import ImagingInstance, ImagingSeries, ImagingStudy
from backend.services.base import Services, transaction


@dataclass(frozen=True, slots=True)
class StudyInfo:
    id: int
    study_uid: str
    exam_id: int | None
    match: str
    accession: str
    patient_id: str
    patient_name: str
    patient_sex: str
    patient_birth_date: date | None
    study_date: date | None
    study_time: str
    study_id: str
    description: str
    referring_physician: str
    modalities: str
    series_count: int
    instance_count: int
    size_bytes: int
    received_from: str
    first_received_at: datetime
    last_received_at: datetime
    received_at: datetime | None


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: int
    study_uid: str
    series_uid: str
    modality: str
    series_number: int | None
    description: str
    body_part: str
    instance_count: int
    size_bytes: int
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    id: int
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: int | None
    transfer_syntax: str
    rows: int | None
    columns: int | None
    frames: int
    size_bytes: int
    sha256: str
    path: str
    received_from: str
    received_at: datetime


def _study(s: ImagingStudy) -> StudyInfo:
    return StudyInfo(**{f: getattr(s, f) for f in StudyInfo.__slots__})


def find_studies(svc: Services, *, study_uid: str | None = None, patient_id: str | None = None,
                 accession: str | None = None, date_from: date | None = None, date_to: date | None = None,
                 modality: str | None = None, exam_id: int | None = None, limit: int = 100,
                 offset: int = 0) -> list[StudyInfo]:
    """Studies matching every given key (exact values; dates inclusive), newest study date first."""
    q: Select[Any] = select(ImagingStudy)
    for col, value in ((ImagingStudy.study_uid, study_uid), (ImagingStudy.patient_id, patient_id),
                       (ImagingStudy.accession, accession), (ImagingStudy.exam_id, exam_id)):
        if value is not None:
            q = q.where(col == value)
    if date_from is not None:
        q = q.where(ImagingStudy.study_date >= date_from)
    if date_to is not None:
        q = q.where(ImagingStudy.study_date <= date_to)
    if modality:
        q = q.where(ImagingStudy.id.in_(select(ImagingSeries.study_id).where(ImagingSeries.modality == modality)))
    q = q.order_by(ImagingStudy.study_date.desc(), ImagingStudy.id.desc()).limit(limit).offset(offset)
    with transaction(svc, readonly=True) as tx:
        return [_study(s) for s in tx.session.scalars(q)]


def get_study(svc: Services, study_uid: str) -> StudyInfo | None:
    found = find_studies(svc, study_uid=study_uid, limit=1)
    return found[0] if found else None


def series_of(svc: Services, study_uid: str, *, series_uid: str | None = None,
              modality: str | None = None) -> list[SeriesInfo]:
    """The series of a study, by series number."""
    q = (select(ImagingSeries, ImagingStudy.study_uid).join(ImagingStudy, ImagingStudy.id == ImagingSeries.study_id)
         .where(ImagingStudy.study_uid == study_uid))
    if series_uid is not None:
        q = q.where(ImagingSeries.series_uid == series_uid)
    if modality:
        q = q.where(ImagingSeries.modality == modality)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.execute(q.order_by(ImagingSeries.series_number, ImagingSeries.id)).all()
        return [SeriesInfo(s.id, uid, s.series_uid, s.modality, s.series_number, s.description, s.body_part,
                           s.instance_count, s.size_bytes, s.completed_at) for s, uid in rows]


def instances_of(svc: Services, *, study_uid: str | None = None, series_uid: str | None = None,
                 sop_instance_uids: Sequence[str] | None = None) -> list[InstanceInfo]:
    """Instances of a study and/or series (or by SOP Instance UIDs), by series then instance number."""
    q = (select(ImagingInstance, ImagingStudy.study_uid, ImagingSeries.series_uid)
         .join(ImagingSeries, ImagingSeries.id == ImagingInstance.series_id)
         .join(ImagingStudy, ImagingStudy.id == ImagingInstance.study_id))
    if study_uid is not None:
        q = q.where(ImagingStudy.study_uid == study_uid)
    if series_uid is not None:
        q = q.where(ImagingSeries.series_uid == series_uid)
    if sop_instance_uids is not None:
        q = q.where(ImagingInstance.sop_instance_uid.in_(list(sop_instance_uids)))
    q = q.order_by(ImagingSeries.series_number, ImagingSeries.id, ImagingInstance.instance_number,
                   ImagingInstance.id)
    with transaction(svc, readonly=True) as tx:
        return [InstanceInfo(i.id, st, se, i.sop_instance_uid, i.sop_class_uid, i.instance_number,
                             i.transfer_syntax, i.rows, i.columns, i.frames, i.size_bytes, i.sha256, i.path,
                             i.received_from, i.received_at)
                for i, st, se in tx.session.execute(q).all()]


def get_instance(svc: Services, sop_instance_uid: str) -> InstanceInfo | None:
    found = instances_of(svc, sop_instance_uids=[sop_instance_uid])
    return found[0] if found else None
