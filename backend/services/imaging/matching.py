"""Which exam an archived study belongs to: by accession number, else by patient and date
(`domain.imaging.match_study`); the unmatched studies staff match by hand."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select

from backend.db.models import Exam, ImagingStudy, Patient, ReconRequest
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.exam_flow import NO_REPORT_EXPECTED, ExamStatus
from backend.domain.imaging import ExamCandidate, InstanceHeader, StudyMatch, match_study
from backend.domain.permissions import Perm
from backend.domain.recon import ACTIVE, AWAITING_RESULTS, ReconState
from backend.services import audit, timeline
from backend.services.base import Services, Tx, transaction


def find_exam(tx: Tx, header: InstanceHeader, *, received_from: str = "") -> tuple[int | None, StudyMatch]:
    """The exam of a new study (in the caller's transaction)."""
    recon = _recon_result(tx, header, received_from)
    if recon is not None:
        return recon
    conditions: list[Any] = []
    if header.accession:
        conditions.append(Exam.accession == header.accession)
    if header.patient_id and header.study_date is not None:
        start = datetime.combine(header.study_date, time(0), tzinfo=tx.tz) - timedelta(days=1)
        end = start + timedelta(days=3)
        when = Exam.scheduled_at.is_(None) & Exam.created_at.between(start, end) | \
            Exam.scheduled_at.between(start, end)
        conditions.append((Patient.mrn == header.patient_id) & when)
    if not conditions:
        return None, StudyMatch.UNMATCHED
    rows = tx.session.execute(
        select(Exam.id, Exam.accession, Patient.mrn, Exam.modality_code, Exam.scheduled_at, Exam.created_at)
        .join(Patient, Patient.id == Exam.patient_id).where(or_(*conditions)).limit(50)).all()
    candidates = [ExamCandidate(r.id, r.accession, r.mrn, r.modality_code,
                                (r.scheduled_at or r.created_at).astimezone(tx.tz).date()) for r in rows]
    return match_study(accession=header.accession, patient_id=header.patient_id, modality=header.modality,
                       study_day=header.study_date, candidates=candidates)


def _recon_result(tx: Tx, header: InstanceHeader, received_from: str) -> tuple[int | None, StudyMatch] | None:
    """Results of a reconstruction request (LN-7) come back in the exam's study (the source went out with it):
    they belong to the exam while it waits for them and is neither cancelled nor discontinued, and their patient
    is the exam's; a reconstruction system's study that matches no waiting request is unmatched. None: not a
    reconstruction result (the usual rules apply)."""
    row = tx.session.execute(
        select(ReconRequest.exam_id, ReconRequest.state, Exam.status, Patient.mrn)
        .join(Exam, Exam.id == ReconRequest.exam_id).join(Patient, Patient.id == Exam.patient_id)
        .where(ReconRequest.target_study_uid == header.study_uid,
               ReconRequest.state.in_([s.value for s in ACTIVE])).order_by(ReconRequest.id.desc()).limit(1)).first()
    if row is not None:
        ok = (ReconState(row.state) in AWAITING_RESULTS and ExamStatus(row.status) not in NO_REPORT_EXPECTED
              and row.mrn == header.patient_id)
        return (row.exam_id, StudyMatch.ACCESSION) if ok else (None, StudyMatch.UNMATCHED)
    if received_from and tx.session.scalars(select(ReconRequest.id).where(
            ReconRequest.peer_ae == received_from).limit(1)).first() is not None:
        return None, StudyMatch.UNMATCHED
    return None


def unmatched_studies(svc: Services, by: Actor, *, limit: int = 200) -> list[dict[str, Any]]:
    """The studies that matched no exam, newest first (for the unmatched-studies page)."""
    by.require(Perm.EXAM_REGISTER)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(ImagingStudy).where(ImagingStudy.match == StudyMatch.UNMATCHED.value)
                                  .order_by(ImagingStudy.last_received_at.desc()).limit(limit)).all()
        out = [{"id": s.id, "study_uid": s.study_uid, "accession": s.accession, "patient_id": s.patient_id,
                "patient_name": s.patient_name, "study_date": s.study_date.isoformat() if s.study_date else "",
                "modalities": s.modalities, "description": s.description, "series": s.series_count,
                "instances": s.instance_count, "received_from": s.received_from,
                "received_at": s.last_received_at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M")} for s in rows]
    audit.record_read(svc, by, "imaging_unmatched", "", count=len(out))
    return out


def match_by_hand(svc: Services, study_id: int, accession: str, *, by: Actor) -> dict[str, Any]:
    """Attach an unmatched study to the exam with `accession` (staff decision, audited, on the timeline)."""
    by.require(Perm.EXAM_REGISTER)
    with transaction(svc) as tx:
        study = tx.session.get(ImagingStudy, study_id, with_for_update=True)
        if study is None:
            raise NotFound(f"影像检查不存在：{study_id}", code="study_not_found")
        if study.exam_id is not None:
            raise InvalidInput("该影像已匹配到检查", code="study_already_matched")
        exam = tx.session.scalars(select(Exam).where(Exam.accession == accession.strip())).first()
        if exam is None:
            raise NotFound(f"检查号不存在：{accession}", code="exam_not_found")
        study.exam_id, study.match = exam.id, StudyMatch.MANUAL.value
        timeline.append(tx, exam, TimelineKind.STUDY_MATCHED, by, study_uid=study.study_uid,
                        instances=study.instance_count)
        audit.record(tx, by, "imaging_study_matched", "exam", exam.id, study_id=study.id)
        return {"study_id": study.id, "exam_id": exam.id, "accession": exam.accession}
