"""The cadre-health upload ledger (CD-1): which exams go to the system and how far each has got.

An exam joins the ledger when a report of a covered patient is approved (`queue_report`, inside the approval's
transaction) or when an admin adds it; each approved version is one outbox unit (key per exam, generation and
version, so approving once queues once). An admin may remove an exam (the job then skips its queued work) and
add it again (a new generation: its files and report are checked and sent again where missing).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from backend.db.models import CadreUpload, CadreUploadReport, Exam, Report, ReportVersion
from backend.domain.actor import Actor
from backend.domain.cadre_health import (
    CADRE_SOURCE_LABELS,
    CADRE_UPLOAD_LABELS,
    CadreSource,
    CadreUploadState,
    progress_label,
)
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.services import audit, outbox
from backend.services.base import Services, Tx, transaction
from backend.services.cadre_health import roster

logger = logging.getLogger(__name__)
KIND = "cadre_upload"
TARGET = "cadre_health"
St = CadreUploadState


def unit_key(exam_id: int, generation: int, version: int) -> str:
    return f"{KIND}:{exam_id}:{generation}:v{version}"


def queue_report(tx: Tx, exam: Exam, version: ReportVersion) -> int | None:
    """Queue an approved version's images and report when the patient is covered (or the exam was added)."""
    row = tx.session.scalars(select(CadreUpload).where(CadreUpload.exam_id == exam.id)).first()
    if row is None:
        source = roster.covered_by(tx, exam.patient)
        if source is None:
            return None
        row = _new_row(tx, exam.id, source, added_by="")
    elif row.state == St.CANCELLED:
        return None
    return _enqueue(tx, row, version.number)


def _new_row(tx: Tx, exam_id: int, source: CadreSource, *, added_by: str) -> CadreUpload:
    row = CadreUpload(exam_id=exam_id, source=source.value, state=St.PENDING.value, files_total=0, files_done=0,
                      report_version=0, attempts=0, generation=1, last_error="", added_by=added_by,
                      created_at=tx.now, updated_at=tx.now)
    tx.session.add(row)
    tx.session.flush()
    return row


def _enqueue(tx: Tx, row: CadreUpload, version: int) -> int:
    box_id, created = outbox.enqueue(tx, kind=KIND, target=TARGET, key=unit_key(row.exam_id, row.generation, version),
                                     payload={"exam_id": row.exam_id, "version": version})
    if created:
        known = tx.session.scalars(select(CadreUploadReport).where(
            CadreUploadReport.upload_id == row.id, CadreUploadReport.version == version)).first()
        if known is None:
            tx.session.add(CadreUploadReport(upload_id=row.id, version=version, pdf_key="", record_id=""))
        row.state, row.outbox_id, row.attempts = St.PENDING.value, box_id, 0
        row.next_try_at, row.last_error, row.updated_at = tx.now, "", tx.now
        logger.info("cadre-health upload of exam %s version %s queued", row.exam_id, version)
    return box_id


def approved_version(tx: Tx, exam_id: int) -> int | None:
    return tx.session.scalar(select(func.max(ReportVersion.number)).join(Report, Report.id == ReportVersion.report_id)
                             .where(Report.exam_id == exam_id, ReportVersion.approved_at.is_not(None)))


def add(svc: Services, accession: str, *, by: Actor) -> dict[str, Any]:
    """Put an exam on the ledger by hand (queued at once when its report is approved, else on approval)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        exam = tx.session.scalars(select(Exam).where(Exam.accession == (accession or "").strip())).first()
        if exam is None:
            raise NotFound(f"未找到检查号为 {accession[:32]} 的检查", code="exam_not_found")
        exam_id = exam.id
        row = tx.session.scalars(select(CadreUpload).where(CadreUpload.exam_id == exam_id)).first()
        if row is not None and row.state != St.CANCELLED:
            raise Conflict("该检查已在干部保健上传台账中", code="cadre_upload_exists")
        if row is None:
            row = _new_row(tx, exam_id, CadreSource.MANUAL, added_by=by.label)
        else:
            row.generation, row.source, row.added_by = row.generation + 1, CadreSource.MANUAL.value, by.label
            row.state, row.updated_at, row.last_error = St.PENDING.value, tx.now, ""
        version = approved_version(tx, exam_id)
        if version is not None:
            _enqueue(tx, row, version)
        audit.record(tx, by, "cadre_upload.add", "exam", exam_id, version=version)
        return _view(tx, row)


def remove(svc: Services, upload_id: int, *, by: Actor) -> dict[str, Any]:
    """Take an exam off the ledger: its queued work is skipped; what was sent stays sent."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        row = _load(tx, upload_id)
        row.state, row.updated_at, row.next_try_at = St.CANCELLED.value, tx.now, None
        audit.record(tx, by, "cadre_upload.remove", "exam", row.exam_id)
        return _view(tx, row)


def retry(svc: Services, upload_id: int, *, by: Actor) -> dict[str, Any]:
    """Send an upload that stopped retrying again from now on (only a failed-for-good one)."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        row = _load(tx, upload_id)
        box_id, state = row.outbox_id, row.state
    if state != St.DEAD or box_id is None:
        raise Conflict("只有已停止重试的上传可以重新上传", code="cadre_upload_not_dead")
    outbox.retry(svc, box_id, by=by)
    with transaction(svc) as tx:
        row = _load(tx, upload_id)
        row.state, row.attempts, row.last_error = St.PENDING.value, 0, ""
        row.next_try_at, row.updated_at = tx.now, tx.now
        return _view(tx, row)


def _load(tx: Tx, upload_id: int) -> CadreUpload:
    row = tx.session.get(CadreUpload, upload_id)
    if row is None:
        raise NotFound("未找到该上传记录", code="cadre_upload_not_found")
    return row


def _local(tx: Tx, at: datetime | None) -> str | None:
    return at.astimezone(tx.tz).isoformat(timespec="seconds") if at else None


def _view(tx: Tx, row: CadreUpload, exam: Exam | None = None) -> dict[str, Any]:
    exam = exam or tx.session.get(Exam, row.exam_id)
    state = St(row.state)
    return {"id": row.id, "exam_id": row.exam_id, "accession": exam.accession if exam else "",
            "modality": exam.modality_code if exam else "", "source": row.source,
            "source_label": CADRE_SOURCE_LABELS[CadreSource(row.source)], "state": state.value,
            "state_label": progress_label(state, row.files_done, row.files_total),
            "files_total": row.files_total, "files_done": row.files_done, "report_version": row.report_version,
            "attempts": row.attempts, "last_error": row.last_error, "next_try_at": _local(tx, row.next_try_at),
            "added_by": row.added_by, "created_at": _local(tx, row.created_at),
            "updated_at": _local(tx, row.updated_at)}


def list_uploads(svc: Services, *, by: Actor, state: str | None = None, accession: str | None = None,
                 before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The ledger, newest first: filtered by state and accession, a page of `limit` before `before_id`."""
    by.require(Perm.ADMIN)
    q = (select(CadreUpload, Exam).join(Exam, Exam.id == CadreUpload.exam_id)
         .order_by(CadreUpload.id.desc()).limit(max(1, min(limit, 500))))
    if state:
        if state not in STATE_LABELS:
            raise InvalidInput(f"未知的上传状态：{state[:20]}", code="invalid_state")
        q = q.where(CadreUpload.state == state)
    if accession:
        q = q.where(Exam.accession == accession.strip())
    if before_id:
        q = q.where(CadreUpload.id < before_id)
    with transaction(svc, readonly=True) as tx:
        return [_view(tx, row, exam) for row, exam in tx.session.execute(q).all()]


def counts(svc: Services, *, by: Actor) -> dict[str, int]:
    """How many exams are in each state (every state present, zero included)."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        found = dict(tx.session.execute(select(CadreUpload.state, func.count()).group_by(CadreUpload.state)).all())
    return {s.value: int(found.get(s.value, 0)) for s in St}


STATE_LABELS = {s.value: label for s, label in CADRE_UPLOAD_LABELS.items()}
