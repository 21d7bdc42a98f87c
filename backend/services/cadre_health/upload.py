"""The job that uploads the ledger's exams (CD-3, CD-4). One outbox unit per exam and approved version: store
each original file from the archive in the object storage, post its details, then store the report's PDF
and post the report linked to the files. Each step is recorded as soon as it is done, so a crash, a kill or
a retry resumes where it stopped and repeats at most the one step under way: the system de-duplicates on
file id and on report id + version, object keys are fixed, and an object already stored with the same
SHA-256 is not sent again.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.db.models import CadreUpload, CadreUploadFile, CadreUploadReport, Exam, ImagingStudy
from backend.domain import cadre_health as rules
from backend.domain.cadre_health import CadreFileState, CadreUploadState
from backend.domain.errors import DomainError
from backend.domain.outbox import GiveUp, RetryPolicy
from backend.ports.cadre_health import CadreReport, ImageFileInfo, ObjectStore
from backend.services import outbox
from backend.services.base import Services, transaction
from backend.services.cadre_health.ledger import KIND, approved_version
from backend.services.imaging import archive, index
from backend.services.outbox import DEFAULT_LEASE, OutboxItem
from backend.services.reporting.pdf import final_pdf
from backend.services.reporting.queries import load_report, user_names, versions_of

# Images matter to the system within days, not minutes: retry for about two days, then a person.
POLICY = RetryPolicy(max_attempts=16, first_delay=timedelta(minutes=1), max_delay=timedelta(hours=6))
EXTEND_EVERY = 10  # files between two renewals of the lease


class NotReady(DomainError):
    """The exam cannot be uploaded yet (its images are not archived); tried again later."""

    code = "cadre_not_ready"


@dataclass(frozen=True, slots=True)
class _Exam:
    upload_id: int
    exam_id: int
    version: int
    accession: str
    id_no: str
    study_uid: str
    study_day: date


@dataclass(frozen=True, slots=True)
class _File:
    row_id: int
    info: ImageFileInfo
    state: CadreFileState


def send_due(svc: Services, *, lease: timedelta = DEFAULT_LEASE, policy: RetryPolicy = POLICY,
             max_items: int = 100) -> dict[str, int] | None:
    """The job: upload every due unit (nothing where the installation has no cadre-health system)."""
    if svc.ports.cadre_health is None or svc.ports.cadre_storage is None:
        return None
    from backend.services.health import this_instance

    owner = f"cadre:{this_instance()}"
    done = outbox.drain(svc, KIND, lambda item: upload(svc, item, owner=owner, policy=policy), owner,
                        policy=policy, lease=lease, max_items=max_items)
    if not done.handled:
        return None
    return {"sent": len(done.done), "retried": len(done.retried), "dead": len(done.dead), "lost": len(done.lost)}


def upload(svc: Services, item: OutboxItem, *, owner: str, policy: RetryPolicy = POLICY) -> Mapping[str, Any]:
    """One unit: the exam's files, then the report version (skipped when removed or superseded)."""
    exam_id = int(item.payload["exam_id"])
    try:
        ctx = _start(svc, item)
        if ctx is None:
            return {"removed_from_ledger": True}
        files = _plan_files(svc, ctx)
        _send_files(svc, item, owner, ctx, files)
        record = _send_report(svc, ctx, files)
    except Exception as exc:
        helps = not isinstance(exc, DomainError) or rules.retry_helps(
            exc.code, str(exc.details.get("partner_code", "")))
        _failed(svc, exam_id, item, exc, policy, dead=not helps)
        if not helps:
            raise GiveUp(str(exc)) from exc
        raise
    _finished(svc, exam_id)
    return {"report": record} if record else {"superseded": True}


def _start(svc: Services, item: OutboxItem) -> _Exam | None:
    exam_id, version = int(item.payload["exam_id"]), int(item.payload["version"])
    with transaction(svc) as tx:
        row = tx.session.scalars(select(CadreUpload).where(CadreUpload.exam_id == exam_id)).one()
        if row.state == CadreUploadState.CANCELLED:
            return None
        exam = tx.session.get(Exam, exam_id)
        assert exam is not None
        study = tx.session.scalars(select(ImagingStudy).where(ImagingStudy.exam_id == exam_id)
                                   .order_by(ImagingStudy.id)).first()
        id_no = (exam.patient.id_card or "").upper()
        if not id_no:
            raise DomainError("患者没有身份证号，干部保健系统无法识别", code="partner_rejected", partner_code="1002")
        if study is None:
            raise NotReady("该检查的影像尚未归档，稍后自动重试")
        row.state, row.attempts, row.updated_at = CadreUploadState.RUNNING.value, item.attempts, tx.now
        day = study.study_date or exam.created_at.astimezone(tx.tz).date()
        return _Exam(row.id, exam_id, version, exam.accession, id_no, study.study_uid, day)


def _plan_files(svc: Services, ctx: _Exam) -> list[_File]:
    """Every archived file of the exam's study with its ledger row (rows for new files are added)."""
    instances = index.instances_of(svc, study_uid=ctx.study_uid)
    org, prefix = svc.settings.cadre_health_org_code, svc.settings.cadre_s3_prefix
    with transaction(svc) as tx:
        rows = {r.sop_uid: r for r in tx.session.scalars(
            select(CadreUploadFile).where(CadreUploadFile.upload_id == ctx.upload_id))}
        out: list[_File] = []
        for i in instances:
            key = rules.image_key(prefix=prefix, org=org, study_day=ctx.study_day, accession=ctx.accession,
                                  study_uid=i.study_uid, series_uid=i.series_uid, sop_uid=i.sop_instance_uid)
            row = rows.get(i.sop_instance_uid)
            if row is None:
                row = CadreUploadFile(upload_id=ctx.upload_id, sop_uid=i.sop_instance_uid, object_key=key,
                                      file_id=rules.file_id(org=org, sop_uid=i.sop_instance_uid), size=i.size_bytes,
                                      sha256=i.sha256, state=CadreFileState.PENDING.value, record_id="",
                                      updated_at=tx.now)
                tx.session.add(row)
                tx.session.flush()
            info = ImageFileInfo(file_id=row.file_id, accession=ctx.accession, patient_id_no=ctx.id_no,
                                 study_uid=i.study_uid, series_uid=i.series_uid, sop_uid=i.sop_instance_uid,
                                 bucket=svc.settings.cadre_s3_bucket, object_key=row.object_key, size=row.size,
                                 sha256=row.sha256)
            out.append(_File(row.id, info, CadreFileState(row.state)))
        upload = tx.session.get(CadreUpload, ctx.upload_id)
        assert upload is not None
        upload.files_total = len(out)
        upload.files_done = sum(f.state is CadreFileState.POSTED for f in out)
        return out


def _send_files(svc: Services, item: OutboxItem, owner: str, ctx: _Exam, files: list[_File]) -> None:
    system, store = svc.ports.cadre_health, svc.ports.cadre_storage
    assert system is not None
    assert store is not None
    for n, f in enumerate(x for x in files if x.state is not CadreFileState.POSTED):
        if n and n % EXTEND_EVERY == 0 and not outbox.extend(svc, item.id, owner=owner):
            raise RuntimeError("租约已被其他工作进程接管")
        if f.state is CadreFileState.PENDING:
            _store_image(svc, store, f.info)
            _mark_file(svc, f.row_id, CadreFileState.STORED, "")
        receipt = system.post_file_info(info=f.info)
        _mark_file(svc, f.row_id, CadreFileState.POSTED, receipt.record_id)


def _store_image(svc: Services, store: ObjectStore, info: ImageFileInfo) -> None:
    there = store.stat(key=info.object_key)
    if there is not None and there.size == info.size and there.sha256 == info.sha256:
        return  # stored by an attempt that stopped before recording it
    path = archive.instance_path(svc, info.sop_uid)
    if path is not None:
        store.put_file(key=info.object_key, path=path, sha256=info.sha256)
        return
    _put_bytes(store, info.object_key, archive.read_instance(svc, info.sop_uid), info.sha256)


def _put_bytes(store: ObjectStore, key: str, data: bytes, sha256: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="radops-cadre-") as tmp:
        path = Path(tmp) / "object"
        path.write_bytes(data)
        store.put_file(key=key, path=path, sha256=sha256)


def _mark_file(svc: Services, row_id: int, state: CadreFileState, record_id: str) -> None:
    with transaction(svc) as tx:
        row = tx.session.get(CadreUploadFile, row_id)
        assert row is not None
        row.state, row.updated_at = state.value, tx.now
        if state is CadreFileState.POSTED:
            row.record_id = record_id[:64]
            upload = tx.session.get(CadreUpload, row.upload_id)
            assert upload is not None
            upload.files_done = min(upload.files_done + 1, upload.files_total)
            upload.updated_at = tx.now


def _build_report(svc: Services, ctx: _Exam, files: list[_File]) -> tuple[CadreReport, bytes] | None:
    """The report version as posted, and its PDF; None when a newer version was approved since."""
    org = svc.settings.cadre_health_org_code
    with transaction(svc, readonly=True) as tx:
        report = load_report(tx, ctx.exam_id, required=True)
        assert report is not None
        approved = [v for v in versions_of(tx, report) if v.approved_at is not None]
        if not approved or approved[-1].number != ctx.version:
            return None
        v = approved[-1]
        assert v.approved_at is not None
        number, approved_at = v.number, v.approved_at
        pdf, _number = final_pdf(tx, svc, ctx.exam_id)
        sections = dict(v.sections or {})
        approver = user_names(tx, {v.approved_by}).get(v.approved_by or 0, "")
    key = rules.report_key(prefix=svc.settings.cadre_s3_prefix, org=org, study_day=ctx.study_day,
                           accession=ctx.accession, version=number)
    return CadreReport(
        report_id=rules.report_id(org=org, accession=ctx.accession), version=number, accession=ctx.accession,
        patient_id_no=ctx.id_no, study_uid=ctx.study_uid, findings=str(sections.get("findings", "")),
        impression=str(sections.get("impression", "")), approved_at=approved_at, approver=approver,
        file_ids=tuple(f.info.file_id for f in files), structured=rules.structured_sections(sections),
        pdf_object_key=key, amended=number > 1), pdf


def _send_report(svc: Services, ctx: _Exam, files: list[_File]) -> str | None:
    system, store = svc.ports.cadre_health, svc.ports.cadre_storage
    assert system is not None
    assert store is not None
    built = _build_report(svc, ctx, files)
    if built is None:
        return None
    report, pdf = built
    digest = hashlib.sha256(pdf).hexdigest()
    there = store.stat(key=report.pdf_object_key)
    if there is None or there.size != len(pdf):
        _put_bytes(store, report.pdf_object_key, pdf, digest)
    receipt = system.post_report(report=report)
    with transaction(svc) as tx:
        row = tx.session.scalars(select(CadreUploadReport).where(
            CadreUploadReport.upload_id == ctx.upload_id, CadreUploadReport.version == ctx.version)).first()
        if row is None:
            row = CadreUploadReport(upload_id=ctx.upload_id, version=ctx.version)
            tx.session.add(row)
        row.pdf_key, row.record_id, row.posted_at = report.pdf_object_key, receipt.record_id[:64], tx.now
        upload = tx.session.get(CadreUpload, ctx.upload_id)
        assert upload is not None
        upload.report_version = max(upload.report_version, ctx.version)
    return receipt.record_id


def _finished(svc: Services, exam_id: int) -> None:
    with transaction(svc) as tx:
        row = tx.session.scalars(select(CadreUpload).where(CadreUpload.exam_id == exam_id)).one()
        if row.state == CadreUploadState.CANCELLED:
            return
        newest = approved_version(tx, exam_id) or 0
        done = row.report_version >= newest and row.files_done == row.files_total
        row.state = (CadreUploadState.DONE if done else CadreUploadState.PENDING).value
        row.last_error, row.next_try_at, row.updated_at = "", None, tx.now


def _failed(svc: Services, exam_id: int, item: OutboxItem, exc: Exception, policy: RetryPolicy, *,
            dead: bool) -> None:
    dead = dead or policy.exhausted(item.attempts)
    message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    with transaction(svc) as tx:
        row = tx.session.scalars(select(CadreUpload).where(CadreUpload.exam_id == exam_id)).first()
        if row is None or row.state == CadreUploadState.CANCELLED:
            return
        row.state = (CadreUploadState.DEAD if dead else CadreUploadState.FAILED).value
        row.attempts, row.last_error, row.updated_at = item.attempts, message[:2000], tx.now
        row.next_try_at = None if dead else tx.now + policy.delay(item.attempts)
