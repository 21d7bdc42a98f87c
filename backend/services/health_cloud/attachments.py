"""Attachments of an exam (HC-2, HC-3): JPEG, PNG, BMP, TIFF and PDF files become DICOM with the converters
of `backend/dicom/convert.py` (baseline JPEG byte for byte, Secondary Capture, Encapsulated PDF) and enter
the archive like any received study, under the exam's study (its images' study when it has some). A file
that cannot be converted is refused with its reason; the others of the same call still go in."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Final

import pydicom
from sqlalchemy import select

from backend.db.models import Exam, ImagingStudy
from backend.dicom.convert import ExamIdentity, convert
from backend.dicom.tags import header_of
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, transaction
from backend.services.imaging import archive

logger = logging.getLogger(__name__)
SOURCE: Final = "ATTACH"  # received_from of converted attachments (16 characters at most)
MAX_FILES: Final = 50
MAX_BYTES: Final = 200 * 2**20
STUDY_NAMESPACE: Final = uuid.UUID("5b0f8f9e-7d0c-4c3e-9a65-3f1f0b6a7c12")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes


def attach(svc: Services, accession: str, files: Sequence[Attachment], *, by: Actor,
           source: str = SOURCE) -> dict[str, Any]:
    """Convert and archive `files` for the exam `accession`; one result per file (stored or refused)."""
    by.require(Perm.EXAM_OPERATE)
    if not files:
        raise InvalidInput("请选择要上传的文件", code="attachments_empty")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"一次最多上传 {MAX_FILES} 个文件", code="attachments_too_many")
    identity = _identity(svc, accession)
    at = svc.clock().astimezone(svc.tz)
    results: list[dict[str, Any]] = []
    for n, f in enumerate(files, start=1):
        if len(f.data) > MAX_BYTES:
            results.append({"filename": f.filename, "ok": False, "reason": "文件超过 200 MB"})
            continue
        try:
            made = convert(f.data, identity, at=at, instance_number=n, title=f.filename[:64])
        except InvalidInput as exc:
            results.append({"filename": f.filename, "ok": False, "reason": exc.message, "code": exc.code})
            continue
        for inst in made:
            ds = pydicom.dcmread(BytesIO(inst.data), stop_before_pixels=True)
            stored = archive.store_instance(svc, header_of(ds, transfer_syntax=inst.transfer_syntax_uid), inst.data,
                                            received_from=source[:16])
            results.append({"filename": f.filename, "ok": True, "kind": inst.kind.value,
                            "sop_instance_uid": inst.sop_instance_uid, "outcome": stored.outcome.value})
    with transaction(svc) as tx:
        audit.record(tx, by, "exam.attachments", "exam", accession, files=len(files),
                     stored=sum(1 for r in results if r["ok"]))
    logger.info("attachments for an exam: %d file(s), %d instance(s) stored", len(files),
                sum(1 for r in results if r["ok"]))
    return {"accession": accession, "study_uid": identity.study_uid, "results": results}


def _identity(svc: Services, accession: str) -> ExamIdentity:
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.scalars(select(Exam).where(Exam.accession == accession)).first()
        if exam is None:
            raise NotFound(f"检查不存在：{accession}", code="exam_not_found")
        study_uid = tx.session.scalars(select(ImagingStudy.study_uid).where(ImagingStudy.exam_id == exam.id)
                                       .order_by(ImagingStudy.id)).first()
        p = exam.patient
        when = (exam.scheduled_at or exam.created_at).astimezone(tx.tz)
        return ExamIdentity(
            accession=exam.accession,
            study_uid=study_uid or f"2.25.{uuid.uuid5(STUDY_NAMESPACE, f'radops|{exam.accession}').int}",
            patient_id=p.mrn, patient_name=p.name, patient_sex=p.sex if p.sex in ("M", "F", "O") else "",
            birth_date=p.birth_date, study_date=when.date(), study_time=when.time().replace(microsecond=0),
            referring_physician=exam.ordering_doctor, modality=exam.modality_code or "OT")
