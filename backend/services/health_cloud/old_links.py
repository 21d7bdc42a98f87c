"""Old and new (HC-8) and the cloud's listing (HC-9).

`import_old` reads the registrations the hospital made through the cloud's old interface and matches each
to an exam, by study UID, then accession number, then patient and study date, into `cloud_old_links`; a
registration of that exam through the new interface then carries the old record's id (upload.py), so the
cloud shows one study, not two. Ambiguities are kept as conflicts for a person to see on the ledger.

`reconcile` compares the ledger with what the cloud lists: a study the cloud no longer has is expired
(its window passed) or failed (it should still be there); the cloud's own expiry date is taken over; with
`dry_run` it only lists what would change.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import CloudLedgerStudy, CloudOldLink, Exam, ImagingStudy, Patient
from backend.domain.actor import SYSTEM, Actor
from backend.domain.errors import Conflict
from backend.domain.health_cloud import CloudStatus, CloudTrigger, OldLinkMatch, next_cloud_status
from backend.domain.permissions import Perm
from backend.ports.health_cloud import HealthCloud, OldCloudRegistration
from backend.services import audit
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)


def _cloud(svc: Services) -> HealthCloud:
    if svc.ports.health_cloud is None:
        raise Conflict("未配置省健康云", code="health_cloud_not_configured")
    return svc.ports.health_cloud


# --- HC-8: the old interface's registrations -----------------------------------------------------------


def import_old(svc: Services, *, by: Actor) -> dict[str, int]:
    """Import (again) every old registration; counts by how each was matched."""
    by.require(Perm.ADMIN)
    records = _cloud(svc).old_registrations()
    counts = {m.value: 0 for m in OldLinkMatch}
    with transaction(svc) as tx:
        claimed: dict[int, str] = {}
        for rec in sorted(records, key=lambda r: r.old_cloud_id):
            exam_id, how, note = _match(tx, rec)
            if exam_id is not None and exam_id in claimed:
                how, note = OldLinkMatch.CONFLICT, f"与旧平台记录 {claimed[exam_id]} 匹配到同一检查"
            elif exam_id is not None:
                claimed[exam_id] = rec.old_cloud_id
            row = tx.session.scalars(select(CloudOldLink).where(CloudOldLink.old_cloud_id == rec.old_cloud_id)).first()
            if row is None:
                row = CloudOldLink(old_cloud_id=rec.old_cloud_id)
                tx.session.add(row)
            row.accession, row.study_uid, row.patient_id = rec.accession[:32], rec.study_uid[:64], rec.patient_id[:64]
            row.patient_name, row.study_date = rec.patient_name[:128], rec.study_date
            row.registered_at = rec.registered_at
            row.exam_id, row.matched_by, row.note, row.imported_at = exam_id, how.value, note, tx.now
            counts[how.value] += 1
            if how not in (OldLinkMatch.CONFLICT, OldLinkMatch.NONE) and exam_id is not None:
                _link_ledger(tx, exam_id, rec.old_cloud_id)
        audit.record(tx, by, "health_cloud.import_old", "cloud_old_links", "", **counts)
    return counts


def _match(tx: Tx, rec: OldCloudRegistration) -> tuple[int | None, OldLinkMatch, str]:
    by_uid = tx.session.scalars(select(ImagingStudy.exam_id).where(
        ImagingStudy.study_uid == rec.study_uid, ImagingStudy.exam_id.is_not(None))).first() if rec.study_uid else None
    by_acc = tx.session.scalars(select(Exam.id).where(Exam.accession == rec.accession)).first() \
        if rec.accession else None
    if by_uid is not None and by_acc is not None and by_uid != by_acc:
        return None, OldLinkMatch.CONFLICT, "Study UID 与检查号分别匹配到不同的检查"
    if by_uid is not None:
        return by_uid, OldLinkMatch.STUDY_UID, ""
    if by_acc is not None:
        return by_acc, OldLinkMatch.ACCESSION, ""
    if rec.patient_id and rec.study_date is not None:
        found = list(tx.session.scalars(
            select(ImagingStudy.exam_id).join(Exam, Exam.id == ImagingStudy.exam_id)
            .join(Patient, Patient.id == Exam.patient_id)
            .where(Patient.mrn == rec.patient_id, ImagingStudy.study_date == rec.study_date).distinct()))
        if len(found) == 1:
            return found[0], OldLinkMatch.PATIENT, ""
        if len(found) > 1:
            return None, OldLinkMatch.CONFLICT, f"该患者当日有 {len(found)} 个检查，无法确定对应哪一个"
    return None, OldLinkMatch.NONE, "未找到对应的检查"


def _link_ledger(tx: Tx, exam_id: int, old_cloud_id: str) -> None:
    for row in tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.exam_id == exam_id)):
        if not row.old_cloud_id:
            row.old_cloud_id, row.updated_at = old_cloud_id, tx.now


def list_links(svc: Services, *, by: Actor, problems_only: bool = False) -> list[dict[str, Any]]:
    """The imported old registrations with their exam (conflicts and unmatched first)."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        q = select(CloudOldLink, Exam.accession).outerjoin(Exam, Exam.id == CloudOldLink.exam_id)
        if problems_only:
            q = q.where(CloudOldLink.matched_by.in_([OldLinkMatch.CONFLICT.value, OldLinkMatch.NONE.value]))
        rows = tx.session.execute(q.order_by(CloudOldLink.old_cloud_id)).all()
        order = {OldLinkMatch.CONFLICT.value: 0, OldLinkMatch.NONE.value: 1}
        out = [{"old_cloud_id": r.old_cloud_id, "accession": r.accession, "study_uid": r.study_uid,
                "patient_id": r.patient_id, "study_date": r.study_date.isoformat() if r.study_date else None,
                "exam_id": r.exam_id, "exam_accession": acc, "matched_by": r.matched_by, "note": r.note}
               for r, acc in rows]
    return sorted(out, key=lambda x: order.get(str(x["matched_by"]), 2))


# --- HC-9: reconcile with the cloud's listing ------------------------------------------------------------


def reconcile(svc: Services, *, by: Actor, dry_run: bool = True) -> dict[str, Any]:
    """Compare the ledger with the cloud's listing; apply the changes unless `dry_run`."""
    by.require(Perm.ADMIN)
    listed = {s.study_uid: s for s in _cloud(svc).list_studies()}
    changes: list[dict[str, Any]] = []
    with transaction(svc, readonly=dry_run) as tx:
        rows = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.status.in_(
            [CloudStatus.UPLOADED.value, CloudStatus.UPLOADING.value, CloudStatus.REGISTERED.value]))).all()
        for row in rows:
            change = _compare(row, listed.get(row.study_uid), tx.now)
            if change is None:
                continue
            changes.append({"study_uid": row.study_uid, "accession": row.accession, "from": row.status, **change})
            if not dry_run:
                _apply(tx, row, change)
        known = {r.study_uid for r in tx.session.scalars(select(CloudLedgerStudy))}
        unknown = sorted(uid for uid in listed if uid not in known)
        if not dry_run:
            audit.record(tx, by, "health_cloud.reconcile", "cloud_studies", "", changes=len(changes))
    return {"dry_run": dry_run, "changes": changes, "unknown_on_cloud": unknown, "cloud_studies": len(listed)}


def _compare(row: CloudLedgerStudy, cloud: Any, now: datetime) -> dict[str, Any] | None:
    status = CloudStatus(row.status)
    if cloud is None:
        if status is not CloudStatus.UPLOADED:
            return None  # not finished yet: the cloud may not list it
        if row.expires_at is not None and row.expires_at <= now:
            return {"to": CloudStatus.EXPIRED.value, "trigger": CloudTrigger.EXPIRE.value,
                    "reason": "云端已按保存期限删除"}
        return {"to": CloudStatus.FAILED.value, "trigger": CloudTrigger.FAIL.value,
                "reason": "云端列表中没有该检查（尚未到期），请重试上传"}
    if status is CloudStatus.UPLOADED and cloud.files_received < row.files_done:
        return {"to": CloudStatus.FAILED.value, "trigger": CloudTrigger.FAIL.value,
                "reason": f"云端只收到 {cloud.files_received}/{row.files_done} 个文件"}
    if cloud.expires_at is not None and cloud.expires_at != row.expires_at:
        return {"to": row.status, "trigger": "", "reason": "按云端更新到期时间",
                "expires_at": cloud.expires_at.isoformat()}
    return None


def _apply(tx: Tx, row: CloudLedgerStudy, change: dict[str, Any]) -> None:
    if change["trigger"]:
        row.status = next_cloud_status(CloudStatus(row.status), CloudTrigger(change["trigger"])).value
        row.reason = str(change["reason"])
        row.generation += 1
    if "expires_at" in change:
        row.expires_at = datetime.fromisoformat(str(change["expires_at"]))
    row.updated_at = tx.now


def reconcile_job(svc: Services) -> dict[str, int] | None:
    """The job: reconcile (applied) when a cloud is configured."""
    if svc.ports.health_cloud is None:
        return None
    from backend.services.health_cloud.ledger import policy

    if not policy(svc).enabled:
        return None
    done = reconcile(svc, by=SYSTEM, dry_run=False)
    return {"changes": len(done["changes"])} if done["changes"] else None
