"""Registration (注册入库) and uploads to the health cloud through the outbox (HC-1, HC-4..HC-7).

Two kinds of outbox rows: `cloud_register` (one per study and generation) registers the study with its
manifest, keeps the registration id, writes the per-file rows and queues one `cloud_file` row per file
still to send (key per file idempotency key and generation); `cloud_file` sends one file, resumable from
the cloud's acknowledged offset. The jobs drain them with leases; `upload_files` runs up to the setting's
number of workers at once, inside the optional time window. The cloud counts a file once per idempotency
key, and the ledger counts it once per row (the row is locked and its state checked before counting), so
a crash at any moment sends nothing twice and loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time as monotime
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select

from backend.db.models import (
    CloudLedgerFile,
    CloudLedgerStudy,
    CloudOldLink,
    Exam,
    ImagingInstance,
    ImagingSeries,
    ImagingStudy,
)
from backend.domain.errors import DomainError, NotFound
from backend.domain.health_cloud import (
    CLOUD_ACTIVE,
    CloudFileStatus,
    CloudStatus,
    CloudTrigger,
    OldLinkMatch,
    RetentionBasis,
    cloud_expires_at,
    file_idempotency_key,
    in_upload_window,
    next_cloud_status,
)
from backend.domain.outbox import GiveUp, RetryPolicy
from backend.ports.health_cloud import CloudFile, CloudFileEntry, CloudStudy, HealthCloud
from backend.services import outbox
from backend.services.base import Services, Tx, transaction
from backend.services.health_cloud.ledger import KIND_FILE, KIND_REGISTER, TARGET, policy, policy_in
from backend.services.imaging import archive
from backend.services.outbox import DrainReport, OutboxItem

logger = logging.getLogger(__name__)
# A study matters for the province within days: retry for about a day, then a person (retry on the ledger).
POLICY: Final = RetryPolicy(max_attempts=12)
LEASE: Final = timedelta(minutes=5)
EXTEND_EVERY_S: Final = 60.0
STALE: Final = {"stale": True}
# The code of integrations.errors.PartnerRejected: the cloud answered with a business refusal.
PARTNER_REFUSED: Final = "partner_rejected"


class Refused(GiveUp):
    """The file cannot be sent (unreadable, or not the bytes archived): kept on the ledger with the reason."""


def register_studies(svc: Services, *, lease: timedelta = LEASE, policy_: RetryPolicy = POLICY,
                     owner: str | None = None) -> dict[str, int] | None:
    """The job: register every queued study (nothing without a cloud, or while the setting is off)."""
    cloud = svc.ports.health_cloud
    if cloud is None or not policy(svc).enabled:
        return None
    who = owner or _owner("register")
    report = outbox.drain(svc, KIND_REGISTER, _guarded(svc, cloud, who, policy_, _register), who,
                          policy=policy_, lease=lease)
    return _summary(report)


def upload_files(svc: Services, *, lease: timedelta = LEASE, policy_: RetryPolicy = POLICY,
                 owner: str | None = None, max_items: int = 200) -> dict[str, int] | None:
    """The job: send the queued files with up to `parallel` workers, inside the time window if one is set."""
    cloud = svc.ports.health_cloud
    if cloud is None:
        return None
    pol = policy(svc)
    if not pol.enabled or not in_upload_window(svc.clock(), start=pol.window_start, end=pol.window_end, tz=svc.tz):
        return None
    base = owner or _owner("upload")

    def worker(n: int) -> DrainReport:
        who = f"{base}:{n}"
        return outbox.drain(svc, KIND_FILE, _guarded(svc, cloud, who, policy_, _upload), who, policy=policy_,
                            lease=lease, batch=1, max_items=max(1, max_items // pol.parallel))

    if pol.parallel <= 1:
        reports = [worker(0)]
    else:
        with ThreadPoolExecutor(max_workers=pol.parallel, thread_name_prefix="cloud-upload") as pool:
            reports = list(pool.map(worker, range(pol.parallel)))
    total = DrainReport()
    for r in reports:
        total.done += r.done
        total.retried += r.retried
        total.dead += r.dead
        total.lost += r.lost
    return _summary(total)


def _owner(role: str) -> str:
    from backend.services.health import this_instance

    return f"cloud_{role}:{this_instance()}"


def _summary(report: DrainReport) -> dict[str, int] | None:
    if not report.handled:
        return None
    return {"done": len(report.done), "retried": len(report.retried), "dead": len(report.dead)}


Step = Any  # (svc, cloud, item, owner) -> Mapping | None


def _guarded(svc: Services, cloud: HealthCloud, owner: str, policy_: RetryPolicy, step: Step) -> Any:
    """Run one outbox row's step; a failure is written on the study's ledger row (reason, raw answer, next
    retry; failed when no attempt is left or retrying cannot help) and passed on to the outbox."""

    def handle(item: OutboxItem) -> Mapping[str, Any] | None:
        try:
            result: Mapping[str, Any] | None = step(svc, cloud, item, owner)
            return result
        except Exception as exc:
            refused = isinstance(exc, DomainError) and exc.code == PARTNER_REFUSED
            final = refused or isinstance(exc, GiveUp) or policy_.exhausted(item.attempts)
            _note_failure(svc, item, exc, final=final, retry_in=None if final else policy_.delay(item.attempts))
            if refused:  # the cloud refused the content: sending the same again cannot help
                raise GiveUp(exc.message if isinstance(exc, DomainError) else str(exc)) from exc
            raise

    return handle


def _note_failure(svc: Services, item: OutboxItem, exc: Exception, *, final: bool, retry_in: timedelta | None) -> None:
    reason = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    raw = str(exc.details.get("raw", "")) if isinstance(exc, DomainError) else ""
    with transaction(svc) as tx:
        row = _study_of(tx, item)
        if row is None or row.generation != int(item.payload.get("generation", 0)):
            return
        if isinstance(exc, Refused):
            return  # the file's own reason is on its row; the study fails only once every file is through
        row.reason, row.updated_at = reason[:2000], tx.now
        if raw:
            row.raw_answer = raw[:4000]
        row.next_retry_at = tx.now + retry_in if retry_in is not None else None
        if final and CloudStatus(row.status) in CLOUD_ACTIVE:
            _move(tx, row, CloudTrigger.FAIL)
    logger.warning("health cloud: %s row %s failed (%s)%s", item.kind, item.id, type(exc).__name__,
                   " for good" if final else "")


def _study_of(tx: Tx, item: OutboxItem) -> CloudLedgerStudy | None:
    if item.kind == KIND_REGISTER:
        study_id = int(item.payload["cloud_study_id"])
    else:
        f = tx.session.get(CloudLedgerFile, int(item.payload["cloud_file_id"]))
        if f is None:
            return None
        study_id = f.cloud_study_id
    return tx.session.get(CloudLedgerStudy, study_id, with_for_update=True)


def _move(tx: Tx, row: CloudLedgerStudy, trigger: CloudTrigger) -> None:
    row.status = next_cloud_status(CloudStatus(row.status), trigger).value
    row.updated_at = tx.now


# --- Registration ---------------------------------------------------------------------------------------


def _register(svc: Services, cloud: HealthCloud, item: OutboxItem, owner: str) -> Mapping[str, Any] | None:
    generation = int(item.payload["generation"])
    with transaction(svc, readonly=True) as tx:
        row = tx.session.get(CloudLedgerStudy, int(item.payload["cloud_study_id"]))
        if row is None or row.generation != generation or CloudStatus(row.status) not in CLOUD_ACTIVE:
            return STALE
        study = _cloud_study(tx, row)
    registration = cloud.register_study(study=study)
    hospital = svc.settings.health_cloud_hospital_code
    with transaction(svc) as tx:
        row = tx.session.get(CloudLedgerStudy, int(item.payload["cloud_study_id"]), with_for_update=True)
        if row is None or row.generation != generation or CloudStatus(row.status) not in CLOUD_ACTIVE:
            return STALE
        row.registration_id = registration.registration_id
        row.old_cloud_id = registration.old_cloud_id or study.old_cloud_id
        row.registered_at = row.registered_at or tx.now
        row.reason, row.raw_answer, row.next_retry_at = "", "", None
        if row.status == CloudStatus.PENDING.value:
            _move(tx, row, CloudTrigger.REGISTER)
        known = {f.sop_instance_uid: f for f in tx.session.scalars(
            select(CloudLedgerFile).where(CloudLedgerFile.cloud_study_id == row.id))}
        for entry in study.files:
            key = file_idempotency_key(hospital_code=hospital, study_uid=row.study_uid,
                                       sop_instance_uid=entry.sop_instance_uid, sha256=entry.sha256)
            f = known.get(entry.sop_instance_uid)
            if f is None:
                f = CloudLedgerFile(cloud_study_id=row.id, sop_instance_uid=entry.sop_instance_uid, size=entry.size,
                                    sha256=entry.sha256, idempotency_key=key, status=CloudFileStatus.PENDING.value,
                                    upload_id="", bytes_sent=0, reason="", updated_at=tx.now)
                tx.session.add(f)
                known[entry.sop_instance_uid] = f
            elif f.idempotency_key != key:  # other bytes under the same instance (the archive replaced them)
                f.idempotency_key, f.size, f.sha256 = key, entry.size, entry.sha256
                f.status, f.upload_id, f.updated_at = CloudFileStatus.PENDING.value, "", tx.now
        tx.session.flush()
        _recount(tx, row)
        for f in known.values():
            if f.status == CloudFileStatus.PENDING.value:
                outbox.enqueue(tx, kind=KIND_FILE, target=TARGET, key=f"{KIND_FILE}:{f.idempotency_key}:{generation}",
                               payload={"cloud_file_id": f.id, "generation": generation})
        _finish_if_through(tx, svc, row)
    return {"registration_id": registration.registration_id, "duplicate": registration.duplicate}


def _cloud_study(tx: Tx, row: CloudLedgerStudy) -> CloudStudy:
    study = tx.session.scalars(select(ImagingStudy).where(ImagingStudy.study_uid == row.study_uid)).first()
    if study is None:
        raise GiveUp("影像归档中已没有该检查")
    files = tuple(CloudFileEntry(sop_instance_uid=sop, series_instance_uid=series, size=size, sha256=sha)
                  for sop, series, size, sha in tx.session.execute(
                      select(ImagingInstance.sop_instance_uid, ImagingSeries.series_uid, ImagingInstance.size_bytes,
                             ImagingInstance.sha256)
                      .join(ImagingSeries, ImagingSeries.id == ImagingInstance.series_id)
                      .where(ImagingInstance.study_id == study.id).order_by(ImagingInstance.id)).all())
    if not files:
        raise GiveUp("该检查尚无图像")
    exam = tx.session.get(Exam, study.exam_id) if study.exam_id is not None else None
    same = CloudOldLink.study_uid == row.study_uid
    if row.exam_id is not None:
        same = same | (CloudOldLink.exam_id == row.exam_id)
    old = tx.session.scalars(select(CloudOldLink.old_cloud_id).where(same, CloudOldLink.matched_by.in_(
        [m.value for m in (OldLinkMatch.STUDY_UID, OldLinkMatch.ACCESSION, OldLinkMatch.PATIENT)]))).first()
    patient = exam.patient if exam is not None else None
    return CloudStudy(
        accession=row.accession, study_uid=row.study_uid,
        patient_id=patient.mrn if patient is not None else study.patient_id,
        patient_name=patient.name if patient is not None else study.patient_name, modality=row.modality,
        study_date=study.study_date or study.first_received_at.astimezone(tx.tz).date(), files=files,
        patient_sex=patient.sex if patient is not None else study.patient_sex,
        birth_date=patient.birth_date if patient is not None else study.patient_birth_date,
        id_number=(patient.id_card or "") if patient is not None else "", old_cloud_id=old or row.old_cloud_id)


# --- Upload of one file -----------------------------------------------------------------------------------


def _upload(svc: Services, cloud: HealthCloud, item: OutboxItem, owner: str) -> Mapping[str, Any] | None:
    generation, file_id = int(item.payload["generation"]), int(item.payload["cloud_file_id"])
    with transaction(svc, readonly=True) as tx:
        f = tx.session.get(CloudLedgerFile, file_id)
        row = tx.session.get(CloudLedgerStudy, f.cloud_study_id) if f is not None else None
        if f is None or row is None or row.generation != generation or CloudStatus(row.status) not in CLOUD_ACTIVE:
            return STALE
        if f.status != CloudFileStatus.PENDING.value:
            return {"already": f.status}
        registration_id, sop, size, sha, key = row.registration_id, f.sop_instance_uid, f.size, f.sha256, \
            f.idempotency_key
    data = _read_checked(svc, file_id, sop, sha)
    spec = CloudFile(registration_id=registration_id, sop_instance_uid=sop, size=size, sha256=sha,
                     idempotency_key=key)
    (upload,) = cloud.open_uploads(registration_id=registration_id, files=[spec])
    last = [monotime.monotonic()]

    def progress(_done: int, _total: int) -> None:  # a long file keeps its lease
        if monotime.monotonic() - last[0] >= EXTEND_EVERY_S:
            last[0] = monotime.monotonic()
            outbox.extend(svc, item.id, owner=owner, lease=LEASE)

    receipt = cloud.upload_file(upload=upload, source=data, on_progress=progress)
    with transaction(svc) as tx:
        f = tx.session.get(CloudLedgerFile, file_id, with_for_update=True)
        assert f is not None
        row = tx.session.get(CloudLedgerStudy, f.cloud_study_id, with_for_update=True)
        assert row is not None
        f.upload_id, f.bytes_sent, f.updated_at = upload.upload_id, f.bytes_sent + receipt.bytes_sent, tx.now
        if f.status == CloudFileStatus.PENDING.value:
            f.status, f.uploaded_at = CloudFileStatus.UPLOADED.value, tx.now
            if row.status == CloudStatus.REGISTERED.value:
                _move(tx, row, CloudTrigger.START_UPLOAD)
            row.reason, row.raw_answer, row.next_retry_at, row.updated_at = "", "", None, tx.now
            _recount(tx, row)
            _finish_if_through(tx, svc, row)
    return {"upload_id": upload.upload_id, "sent": receipt.bytes_sent, "resumed_from": receipt.resumed_from}


def _read_checked(svc: Services, file_id: int, sop: str, sha: str) -> bytes:
    """The archived bytes, refused (with the reason on the file's row) when unreadable or not what was
    registered: such a file never reaches the cloud and never holds up the others."""
    reason = ""
    try:
        data = archive.read_instance(svc, sop)
    except (NotFound, OSError) as exc:
        data, reason = b"", f"归档文件无法读取：{getattr(exc, 'message', None) or exc}"
    if not reason and hashlib.sha256(data).hexdigest() != sha:
        reason = "归档文件的校验值与登记时不符（文件已损坏或被改动），未上传"
    if not reason:
        return data
    with transaction(svc) as tx:
        f = tx.session.get(CloudLedgerFile, file_id, with_for_update=True)
        assert f is not None
        row = tx.session.get(CloudLedgerStudy, f.cloud_study_id, with_for_update=True)
        assert row is not None
        if f.status == CloudFileStatus.PENDING.value:
            f.status, f.reason, f.updated_at = CloudFileStatus.REFUSED.value, reason, tx.now
            if row.status == CloudStatus.REGISTERED.value:
                _move(tx, row, CloudTrigger.START_UPLOAD)
            _recount(tx, row)
            _finish_if_through(tx, svc, row)
    raise Refused(reason)


def _recount(tx: Tx, row: CloudLedgerStudy) -> None:
    """The study's file counts from its files; a change of any count is a change of the row (`updated_at`:
    the data API's incremental sync and the ledger page's order read it)."""
    files = list(tx.session.execute(select(CloudLedgerFile.status, CloudLedgerFile.size)
                                    .where(CloudLedgerFile.cloud_study_id == row.id)).all())
    counts = (len(files), sum(int(s) for _, s in files),
              sum(1 for st, _ in files if st == CloudFileStatus.UPLOADED.value),
              sum(1 for st, _ in files if st == CloudFileStatus.REFUSED.value),
              sum(int(s) for st, s in files if st == CloudFileStatus.UPLOADED.value))
    if counts != (row.files_total, row.bytes_total, row.files_done, row.files_refused, row.bytes_done):
        row.files_total, row.bytes_total, row.files_done, row.files_refused, row.bytes_done = counts
        row.updated_at = tx.now


def _finish_if_through(tx: Tx, svc: Services, row: CloudLedgerStudy) -> None:
    """Once every file is uploaded or refused: uploaded, or failed naming how many were refused."""
    if row.files_done + row.files_refused < row.files_total or CloudStatus(row.status) not in CLOUD_ACTIVE:
        return
    if row.status == CloudStatus.REGISTERED.value:
        _move(tx, row, CloudTrigger.START_UPLOAD)
    if row.files_refused:
        row.reason = f"{row.files_refused} 个文件无法上传（见文件明细），其余 {row.files_done} 个已上传"
        _move(tx, row, CloudTrigger.FAIL)
        return
    _move(tx, row, CloudTrigger.FINISH)
    row.uploaded_at = tx.now
    rule = policy_in(tx).rule
    if rule.basis is RetentionBasis.UPLOAD_DATE:
        row.expires_at = cloud_expires_at(tx.now.astimezone(tx.tz).date(), months=rule.window_months, tz=tx.tz)
    logger.info("health cloud: study %s uploaded (%d files)", row.id, row.files_done)
