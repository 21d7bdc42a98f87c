"""The health cloud's ledger: which received studies go (the rule of `backend/domain/health_cloud.py` over
the settings, and a person's add / remove), their state study by study, and what people do with it (retry,
skip, add, re-upload). Registration and uploads are queued here through the outbox, in the same unit of
work as the state change, and sent by `backend/services/health_cloud/upload.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import func, or_, select

from backend.db.models import CloudLedgerFile, CloudLedgerStudy, Exam, ImagingStudy
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.health_cloud import (
    CLOUD_ACTIVE,
    CloudCandidate,
    CloudFileStatus,
    CloudRule,
    CloudStatus,
    CloudTrigger,
    ManualChoice,
    RetentionBasis,
    Send,
    Skip,
    SkipReason,
    cloud_expires_at,
    decide_selection,
    next_cloud_status,
    parse_hhmm,
    status_text,
)
from backend.domain.permissions import Perm
from backend.services import audit, outbox, settings_store
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)
KIND_REGISTER: Final = "cloud_register"
KIND_FILE: Final = "cloud_file"
TARGET: Final = "health_cloud"
CANDIDATE_BATCH: Final = 200


@dataclass(frozen=True, slots=True)
class CloudPolicy:
    """The runtime settings of the cloud (settings catalogue, group 省健康云)."""

    enabled: bool
    parallel: int
    window_start: time | None
    window_end: time | None
    rule: CloudRule


def policy_in(tx: Tx) -> CloudPolicy:
    def get(name: str) -> Any:
        return settings_store.get_in(tx, f"health_cloud.{name}")

    basis_raw = str(get("retention_basis"))
    basis = RetentionBasis(basis_raw) if basis_raw in RetentionBasis.__members__.values() else RetentionBasis.STUDY_DATE
    rule = CloudRule(modalities=frozenset(str(m).upper() for m in get("modalities") or ()),
                     patient_classes=frozenset(str(c) for c in get("patient_classes") or ()),
                     max_age_days=int(get("max_age_days")), window_months=int(get("window_months")), basis=basis)
    return CloudPolicy(enabled=bool(get("enabled")), parallel=int(get("parallel")),
                       window_start=parse_hhmm(str(get("window_start") or "")),
                       window_end=parse_hhmm(str(get("window_end") or "")), rule=rule)


def policy(svc: Services) -> CloudPolicy:
    with transaction(svc, readonly=True) as tx:
        return policy_in(tx)


# --- Candidates: a study received in the archive ------------------------------------------------------


def find_candidates(svc: Services) -> dict[str, int] | None:
    """The job: put every newly received study on the ledger (to send, or skipped with the rule's reason),
    and send again what got new images after it was uploaded. Idempotent (one ledger row per study UID)."""
    if svc.ports.health_cloud is None:
        return None
    done = {"queued": 0, "skipped": 0, "new_images": 0}
    with transaction(svc) as tx:
        pol = policy_in(tx)
        if not pol.enabled:
            return None
        studies = tx.session.scalars(
            select(ImagingStudy)
            .outerjoin(CloudLedgerStudy, CloudLedgerStudy.study_uid == ImagingStudy.study_uid)
            .where(ImagingStudy.received_at.is_not(None), CloudLedgerStudy.id.is_(None))
            .order_by(ImagingStudy.id).limit(CANDIDATE_BATCH)).all()
        for study in studies:
            exam = tx.session.get(Exam, study.exam_id) if study.exam_id is not None else None
            row = _new_row(tx, study, exam)
            decision = decide_selection(_candidate(study, exam), pol.rule, at=tx.now, tz=tx.tz) \
                if row.accession else Skip(SkipReason.NO_ACCESSION)
            _apply_decision(tx, row, decision)
            done["queued" if isinstance(decision, Send) else "skipped"] += 1
        grown = tx.session.execute(
            select(CloudLedgerStudy, ImagingStudy)
            .join(ImagingStudy, ImagingStudy.study_uid == CloudLedgerStudy.study_uid)
            .where(CloudLedgerStudy.status == CloudStatus.UPLOADED.value, ImagingStudy.received_at.is_not(None),
                   ImagingStudy.instance_count > CloudLedgerStudy.files_total)
            .limit(CANDIDATE_BATCH)).all()
        for row, _study in grown:
            _move(tx, row, CloudTrigger.NEW_IMAGES)
            _queue_register(tx, row, bump=True)
            done["new_images"] += 1
    return done if any(done.values()) else None


def _candidate(study: ImagingStudy, exam: Exam | None, manual: ManualChoice | None = None) -> CloudCandidate:
    modality = exam.modality_code if exam is not None else (study.modalities.split("\\")[0] if study.modalities else "")
    return CloudCandidate(exam_id=exam.id if exam is not None else 0, modality=modality,
                          patient_class=exam.patient_class if exam is not None else "",
                          study_date=study.study_date or study.first_received_at.date(),
                          image_count=study.instance_count, manual=manual)


def _new_row(tx: Tx, study: ImagingStudy, exam: Exam | None) -> CloudLedgerStudy:
    row = CloudLedgerStudy(
        study_uid=study.study_uid, exam_id=study.exam_id, accession=exam.accession if exam else study.accession,
        patient_id=study.patient_id, patient_name=study.patient_name,
        modality=(exam.modality_code if exam else study.modalities.split("\\")[0])[:16],
        study_date=study.study_date, status=CloudStatus.PENDING.value, generation=1, registration_id="",
        old_cloud_id="", files_total=0, files_done=0, files_refused=0, bytes_total=0, bytes_done=0, reason="",
        raw_answer="", created_at=tx.now, updated_at=tx.now)
    tx.session.add(row)
    tx.session.flush()
    return row


def _apply_decision(tx: Tx, row: CloudLedgerStudy, decision: Send | Skip) -> None:
    if isinstance(decision, Skip):
        if row.status != CloudStatus.SKIPPED.value:
            _move(tx, row, CloudTrigger.SKIP)
        row.reason = decision.text
        return
    row.expires_at = decision.expires_at
    _queue_register(tx, row, bump=False)


def _queue_register(tx: Tx, row: CloudLedgerStudy, *, bump: bool) -> None:
    """Queue the registration of the study's current generation (a retry or an addition starts a new one)."""
    if bump:
        row.generation += 1
    row.reason, row.raw_answer, row.next_retry_at = "", "", None
    outbox.enqueue(tx, kind=KIND_REGISTER, target=TARGET, key=f"{KIND_REGISTER}:{row.study_uid}:{row.generation}",
                   payload={"cloud_study_id": row.id, "generation": row.generation})


def _move(tx: Tx, row: CloudLedgerStudy, trigger: CloudTrigger) -> None:
    row.status = next_cloud_status(CloudStatus(row.status), trigger).value
    row.updated_at = tx.now


# --- What people do on the ledger ---------------------------------------------------------------------


def _row(tx: Tx, study_uid: str) -> CloudLedgerStudy:
    row = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.study_uid == study_uid)
                             .with_for_update()).first()
    if row is None:
        raise NotFound("省健康云台账中没有该检查", code="cloud_study_not_found")
    return row


def retry(svc: Services, study_uid: str, *, by: Actor) -> dict[str, Any]:
    """Send a failed study again (files refused before are tried again too); an expired one only so."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        row = _row(tx, study_uid)
        trigger = CloudTrigger.REUPLOAD if row.status == CloudStatus.EXPIRED.value else CloudTrigger.RETRY
        _move(tx, row, trigger)
        _reopen_files(tx, row)
        if trigger is CloudTrigger.REUPLOAD:
            pol = policy_in(tx)
            if pol.rule.basis is RetentionBasis.STUDY_DATE and row.study_date is not None:
                row.expires_at = cloud_expires_at(row.study_date, months=pol.rule.window_months, tz=tx.tz)
        _queue_register(tx, row, bump=True)
        audit.record(tx, by, f"health_cloud.{trigger.value}", "cloud_study", row.id, study_uid=study_uid)
        return _view(row, tx)


def _reopen_files(tx: Tx, row: CloudLedgerStudy) -> None:
    files = tx.session.scalars(select(CloudLedgerFile).where(CloudLedgerFile.cloud_study_id == row.id))
    expired = row.status == CloudStatus.PENDING.value and row.files_done and row.expires_at is not None \
        and row.expires_at <= tx.now
    for f in files:
        if f.status == CloudFileStatus.REFUSED.value or expired:
            f.status, f.reason, f.updated_at = CloudFileStatus.PENDING.value, "", tx.now
    row.files_refused = 0


def skip(svc: Services, study_uid: str, *, by: Actor) -> dict[str, Any]:
    """Take a study off the uploads (a person's removal: the rule never puts it back)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        row = _row(tx, study_uid)
        _move(tx, row, CloudTrigger.SKIP)
        row.manual, row.reason = ManualChoice.REMOVE.value, "已手动移出上传"
        row.generation += 1  # queued work of the older generation is dropped by the sender
        audit.record(tx, by, "health_cloud.skip", "cloud_study", row.id, study_uid=study_uid)
        return _view(row, tx)


def add(svc: Services, *, study_uid: str = "", accession: str = "", by: Actor) -> dict[str, Any]:
    """Put a study on the uploads by hand (overrides modality, class and age; never the cloud's window)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        q = select(ImagingStudy)
        if study_uid:
            q = q.where(ImagingStudy.study_uid == study_uid)
        elif accession:
            exam_ids = select(Exam.id).where(Exam.accession == accession).scalar_subquery()
            q = q.where(or_(ImagingStudy.exam_id == exam_ids, ImagingStudy.accession == accession))
        else:
            raise InvalidInput("请提供检查号或 Study Instance UID", code="cloud_add_missing")
        study = tx.session.scalars(q.order_by(ImagingStudy.id.desc())).first()
        if study is None:
            raise NotFound("影像归档中没有该检查", code="cloud_study_not_found")
        exam = tx.session.get(Exam, study.exam_id) if study.exam_id is not None else None
        row = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.study_uid == study.study_uid)
                                 .with_for_update()).first()
        if row is not None and CloudStatus(row.status) not in (CloudStatus.SKIPPED,):
            raise InvalidInput(f"该检查已在上传台账中（{CloudStatus(row.status).value}）", code="cloud_already_listed")
        if row is None:
            row = _new_row(tx, study, exam)
            row.status = CloudStatus.SKIPPED.value
        row.accession = exam.accession if exam is not None else study.accession  # matched since, perhaps
        decision = decide_selection(_candidate(study, exam, ManualChoice.ADD), policy_in(tx).rule, at=tx.now,
                                    tz=tx.tz) if row.accession else Skip(SkipReason.NO_ACCESSION)
        if isinstance(decision, Skip):
            raise InvalidInput(decision.text, code=f"cloud_{decision.reason.value}")
        _move(tx, row, CloudTrigger.ADD)
        row.manual, row.expires_at = ManualChoice.ADD.value, decision.expires_at
        _queue_register(tx, row, bump=True)
        audit.record(tx, by, "health_cloud.add", "cloud_study", row.id, study_uid=study.study_uid)
        return _view(row, tx)


# --- The cloud's window (HC-9) ------------------------------------------------------------------------


def expire(svc: Services) -> dict[str, int] | None:
    """The job: mark what the cloud has dropped by now (its window passed); it is never sent again unless a
    person asks (retry of an expired study)."""
    with transaction(svc) as tx:
        rows = tx.session.scalars(select(CloudLedgerStudy).where(
            CloudLedgerStudy.expires_at <= tx.now,
            CloudLedgerStudy.status.in_([s.value for s in (*CLOUD_ACTIVE, CloudStatus.UPLOADED, CloudStatus.FAILED)]))
            .with_for_update(skip_locked=True).limit(500)).all()
        for row in rows:
            _move(tx, row, CloudTrigger.EXPIRE)
            row.generation += 1
    return {"expired": len(rows)} if rows else None


# --- Reading the ledger ---------------------------------------------------------------------------------


def _local(at: datetime | None, tx: Tx) -> str | None:
    return at.astimezone(tx.tz).isoformat(timespec="seconds") if at else None


def _view(row: CloudLedgerStudy, tx: Tx) -> dict[str, Any]:
    status = CloudStatus(row.status)
    return {"study_uid": row.study_uid, "exam_id": row.exam_id, "accession": row.accession,
            "patient_id": row.patient_id, "modality": row.modality,
            "study_date": row.study_date.isoformat() if row.study_date else None,
            "status": status.value, "status_text": status_text(status, done=row.files_done, total=row.files_total),
            "manual": row.manual, "registration_id": row.registration_id, "old_cloud_id": row.old_cloud_id,
            "files_total": row.files_total, "files_done": row.files_done, "files_refused": row.files_refused,
            "bytes_total": row.bytes_total, "bytes_done": row.bytes_done, "reason": row.reason,
            "raw_answer": row.raw_answer, "next_retry_at": _local(row.next_retry_at, tx),
            "expires_at": _local(row.expires_at, tx), "registered_at": _local(row.registered_at, tx),
            "uploaded_at": _local(row.uploaded_at, tx), "updated_at": _local(row.updated_at, tx)}


def list_ledger(svc: Services, *, by: Actor, status: CloudStatus | None = None, text: str = "",
                day_from: date | None = None, day_to: date | None = None, failing: bool = False,
                limit: int = 200) -> list[dict[str, Any]]:
    """The ledger, most recently changed first; filters: state, accession / patient id / UID, study dates,
    and `failing` (the last attempt failed, whether or not retries are left)."""
    by.require(Perm.ADMIN)
    q = select(CloudLedgerStudy).order_by(CloudLedgerStudy.updated_at.desc(), CloudLedgerStudy.id.desc())
    if status is not None:
        q = q.where(CloudLedgerStudy.status == status.value)
    if text.strip():
        like = f"%{text.strip()}%"
        q = q.where(or_(CloudLedgerStudy.accession.like(like), CloudLedgerStudy.patient_id.like(like),
                        CloudLedgerStudy.study_uid.like(like)))
    if day_from is not None:
        q = q.where(CloudLedgerStudy.study_date >= day_from)
    if day_to is not None:
        q = q.where(CloudLedgerStudy.study_date <= day_to)
    if failing:
        q = q.where(CloudLedgerStudy.reason != "", CloudLedgerStudy.status != CloudStatus.SKIPPED.value)
    with transaction(svc, readonly=True) as tx:
        return [_view(row, tx) for row in tx.session.scalars(q.limit(max(1, min(limit, 1000))))]


def study_state(svc: Services, study_uid: str) -> dict[str, Any] | None:
    """One study's row (None when it is not on the ledger): for the exam page's 'on the cloud' line."""
    with transaction(svc, readonly=True) as tx:
        row = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.study_uid == study_uid)).first()
        return _view(row, tx) if row is not None else None


def counts(svc: Services, *, by: Actor) -> dict[str, int]:
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        found = {str(st): int(n) for st, n in tx.session.execute(
            select(CloudLedgerStudy.status, func.count()).group_by(CloudLedgerStudy.status)).all()}
    return {s.value: int(found.get(s.value, 0)) for s in CloudStatus}


def daily_volumes(svc: Services, *, by: Actor, days: int = 14) -> list[dict[str, Any]]:
    """Studies, files and bytes uploaded per day (site time), the last `days` days, every day present."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        today = tx.now.astimezone(tx.tz).date()
        first = today - timedelta(days=max(1, days) - 1)
        start = datetime.combine(first, time(0), tzinfo=tx.tz)
        rows = tx.session.execute(
            select(CloudLedgerFile.uploaded_at, CloudLedgerFile.size, CloudLedgerFile.cloud_study_id)
            .where(CloudLedgerFile.uploaded_at >= start)).all()
    span = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    files, size_sum = dict.fromkeys(span, 0), dict.fromkeys(span, 0)
    studies: dict[date, set[int]] = {d: set() for d in span}
    for at, size, study_id in rows:
        day = at.astimezone(svc.tz).date() if at is not None else None
        if day is not None and day in files:
            files[day] += 1
            size_sum[day] += int(size)
            studies[day].add(int(study_id))
    return [{"day": d.isoformat(), "files": files[d], "bytes": size_sum[d], "studies": len(studies[d])} for d in span]


def exam_cloud_text(svc: Services, exam_id: int) -> str | None:
    """Whether an exam's images are on the cloud, for the exam's detail (None when never on the ledger)."""
    with transaction(svc, readonly=True) as tx:
        row = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.exam_id == exam_id)
                                 .order_by(CloudLedgerStudy.id.desc())).first()
        if row is None:
            return None
        status = CloudStatus(row.status)
        text = status_text(status, done=row.files_done, total=row.files_total)
        if status is CloudStatus.UPLOADED and row.expires_at is not None:
            day = row.expires_at.astimezone(tx.tz) - timedelta(seconds=1)  # the last moment the cloud keeps it
            return f"{text}，云端保存至 {day:%Y-%m-%d}"
        if status is CloudStatus.EXPIRED:
            return f"{text}（云端已删除）"
        return f"{text}：{row.reason}" if row.reason else text
