"""Lung-nodule target reconstruction on RadOps' side, the staff's steps (LN-4..LN-6): the prior list of an
exam, the link of one prior series as the source (the exam starts: 已登记 -> 检查中), its undo and a resend.
Sending is recon_send (LN-7), the results' completion and the deadline recon_results.

A remote archive of priors (RADOPS_RECON_PRIOR_ARCHIVE_AE, a known node): the prior list also holds its studies
(Study Root C-FIND, marked "remote"; one already in the index is listed once, as local); when it cannot be
asked the local list still comes, with a notice. A linked remote series is fetched by C-GET into the archive
by the send job itself (状态 发送中, reason 调取中…) before it is sent, with the job's retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.uid import generate_uid
from sqlalchemy import func, or_, select

from backend.db.models import Exam, ExamEvent, ExamItem, ImagingStudy, ReconRequest
from backend.dicom import remote_qr
from backend.dicom.scu import Target
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.exam_flow import EXAM_STATUS_LABELS, NO_REPORT_EXPECTED, ExamStatus, Trigger
from backend.domain.permissions import Perm
from backend.domain.recon import (
    ACTIVE,
    RECON_STATE_LABELS,
    ReconState,
    ReconTrigger,
    SeriesFacts,
    default_series,
    is_chest_ct,
    merged_priors,
    next_recon_state,
    undo_keeps_exam_started,
    uses_recon,
)
from backend.services import audit, outbox, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.imaging import archive, index, nodes

logger = logging.getLogger(__name__)
KIND = "recon_send"
UID_PREFIX = "1.2.826.0.1.3680043.10.1235."  # RadOps' study UIDs of reconstruction exams (under the demo's root)


# ---- the prior list (LN-4) -----------------------------------------------------------------------------

def _exam(tx: Tx, accession: str, *, lock: bool = False) -> tuple[Exam, ExamItem]:
    q = (select(Exam, ExamItem).join(ExamItem, ExamItem.id == Exam.exam_item_id)
         .where(Exam.accession == accession.strip()))
    if lock:
        q = q.with_for_update(of=Exam)
    row = tx.session.execute(q).first()
    if row is None:
        raise NotFound(f"检查号不存在：{accession}", code="exam_not_found")
    return row[0], row[1]


def _check_item(svc: Services, item: ExamItem) -> None:
    if not uses_recon(item.code, svc.settings.recon_items):
        raise InvalidInput(f"检查项目“{item.name}”不使用靶重建，不能引用历史图像", code="recon_not_applicable")


def instance_header(svc: Services, sop_uid: str) -> Dataset | None:
    try:
        return dcmread(BytesIO(archive.read_instance(svc, sop_uid)), stop_before_pixels=True)
    except Exception:  # an unreadable file: the series is listed without its facts
        logger.warning("recon: cannot read the header of an instance", exc_info=True)
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _series_rows(svc: Services, study: index.StudyInfo) -> list[dict[str, Any]]:
    out = []
    for se in index.series_of(svc, study.study_uid):
        insts = index.instances_of(svc, study_uid=study.study_uid, series_uid=se.series_uid)
        middle = insts[len(insts) // 2] if insts else None
        ds = instance_header(svc, middle.sop_instance_uid) if middle else None
        thickness = _float(ds.get("SliceThickness")) if ds is not None else None
        kernel = str(ds.get("ConvolutionKernel", "") or "") if ds is not None else ""
        thumb = (f"/dicomweb/studies/{study.study_uid}/series/{se.series_uid}/instances/"
                 f"{middle.sop_instance_uid}/rendered?viewport=96,96") if middle else None
        out.append({"uid": se.series_uid, "number": se.series_number, "modality": se.modality,
                    "description": se.description, "images": len(insts), "slice_thickness": thickness,
                    "kernel": kernel, "thumbnail": thumb})
    return out


def _facts(rows: Iterable[Mapping[str, Any]]) -> list[SeriesFacts]:
    return [SeriesFacts(r["uid"], r["modality"], r["description"], r["images"], r["slice_thickness"], r["kernel"])
            for r in rows]


def prior_archive(svc: Services) -> Target | None:
    """The remote archive of priors (None: not configured); NotFound when its AE title is no known node."""
    ae = svc.settings.recon_prior_archive_ae.strip()
    if not ae:
        return None
    node = nodes.node(svc, ae)
    return Target(node.ae_title, node.host, node.port)


def _remote_series_rows(study: remote_qr.RemoteStudy) -> list[dict[str, Any]]:
    return [{"uid": se.series_uid, "number": se.number, "modality": se.modality, "description": se.description,
             "images": se.images, "slice_thickness": se.slice_thickness, "kernel": se.kernel, "thumbnail": None}
            for se in study.series]


def _remote_row(study: remote_qr.RemoteStudy, archive_ae: str) -> dict[str, Any]:
    series = _remote_series_rows(study)
    modalities = study.modalities or "\\".join(sorted({se.modality for se in study.series if se.modality}))
    body = " ".join(f"{se.description} {se.body_part}" for se in study.series)
    chest = is_chest_ct(modalities, body, study.description)
    return {"study_uid": study.study_uid, "accession": study.accession,
            "date": study.study_date.isoformat() if study.study_date else "", "item": study.description,
            "modality": modalities, "series_count": len(series), "image_count": sum(r["images"] for r in series),
            "chest_ct": chest, "default_series": default_series(_facts(series)), "series": series,
            "source": "remote", "archive": archive_ae}


def _remote_priors(svc: Services, mrn: str, accession: str) -> tuple[list[dict[str, Any]], str | None]:
    """The remote archive's studies of the patient, and the notice when it cannot be asked (None: fine)."""
    try:
        target = prior_archive(svc)
        if target is None:
            return [], None
        found = remote_qr.find_studies(target, calling_ae=svc.settings.dicom_ae_title, patient_id=mrn,
                                       timeout=svc.settings.recon_prior_archive_timeout_s)
    except NotFound as exc:
        return [], f"远程影像库无法连接：{exc.message}"
    except remote_qr.RemoteError as exc:
        logger.warning("recon: the remote archive of priors cannot be asked: %s", exc)
        return [], f"远程影像库无法连接：{exc}"
    return [_remote_row(st, target.ae_title) for st in found
            if st.patient_id == mrn and not (accession and st.accession == accession)], None


def priors(svc: Services, accession: str, *, by: Actor) -> dict[str, Any]:
    """The patient's prior imaging exams for the exam's 引用历史图像 dialog, from the archive index and (when
    configured) the remote archive: CT chest first, newest first; per study its series with image counts, a
    thumbnail (local) and the default series; `notice` says when the remote archive could not be asked."""
    by.require(Perm.RECON_LINK)
    with transaction(svc, readonly=True) as tx:
        exam, item = _exam(tx, accession)
        _check_item(svc, item)
        mrn, exam_id = exam.patient.mrn, exam.id
        targets = set(tx.session.scalars(select(ReconRequest.target_study_uid).where(ReconRequest.exam_id == exam_id)))
        exam_items = dict(tx.session.execute(select(Exam.id, ExamItem.name).join(
            ExamItem, ExamItem.id == Exam.exam_item_id).join(ImagingStudy, ImagingStudy.exam_id == Exam.id)
            .where(ImagingStudy.patient_id == mrn)).all())
    local = index.find_studies(svc, patient_id=mrn, limit=100)
    studies = [s for s in local if s.exam_id != exam_id and s.study_uid not in targets and s.accession != accession]
    out = []
    for s in studies:
        series = _series_rows(svc, s)
        body = " ".join(str(r["description"]) for r in series)
        chest = is_chest_ct(s.modalities, body, s.description)
        out.append({"study_uid": s.study_uid, "accession": s.accession,
                    "date": s.study_date.isoformat() if s.study_date else "",
                    "item": exam_items.get(s.exam_id or 0) or s.description, "modality": s.modalities,
                    "series_count": len(series), "image_count": sum(r["images"] for r in series),
                    "chest_ct": chest, "default_series": default_series(_facts(series)), "series": series,
                    "source": "local"})
    remote, notice = _remote_priors(svc, mrn, accession)
    skip = targets | ({s.study_uid for s in local} - {s.study_uid for s in studies})
    merged = merged_priors(out, remote, skip)
    audit.record_read(svc, by, "recon_priors", accession, studies=len(merged),
                      remote=sum(1 for p in merged if p["source"] == "remote"))
    return {"accession": accession, "priors": merged, "link": link_of(svc, accession), "notice": notice,
            "remote_archive": svc.settings.recon_prior_archive_ae.strip() or None}


# ---- the link (LN-5, LN-6) -----------------------------------------------------------------------------

def _view(req: ReconRequest, svc: Services) -> dict[str, Any]:
    def local(at: Any) -> str | None:
        return at.astimezone(svc.tz).strftime("%Y-%m-%d %H:%M:%S") if at else None

    state = ReconState(req.state)
    return {"id": req.id, "exam_id": req.exam_id, "state": state.value, "state_label": RECON_STATE_LABELS[state],
            "reason": req.reason, "source_study_uid": req.source_study_uid,
            "source_series_uid": req.source_series_uid, "source_accession": req.source_accession,
            "target_study_uid": req.target_study_uid, "linked_by": req.linked_by, "linked_at": local(req.linked_at),
            "sent": req.sent, "total": req.total, "attempts": req.attempts, "sent_at": local(req.sent_at),
            "deadline_at": local(req.deadline_at), "completed_at": local(req.completed_at),
            "results": list(req.results or []), "undoable": state in (ReconState.PENDING, ReconState.FAILED),
            "resendable": state in (ReconState.FAILED, ReconState.TIMED_OUT)}


def active_request(tx: Tx, exam_id: int, *, lock: bool = False) -> ReconRequest | None:
    q = (select(ReconRequest).where(ReconRequest.exam_id == exam_id,
                                    ReconRequest.state.in_([s.value for s in ACTIVE]))
         .order_by(ReconRequest.id.desc()))
    if lock:
        q = q.with_for_update()
    return tx.session.scalars(q).first()


def link_of(svc: Services, accession: str) -> dict[str, Any] | None:
    """The exam's active link (None when there is none)."""
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.scalars(select(Exam).where(Exam.accession == accession.strip())).first()
        req = active_request(tx, exam.id) if exam is not None else None
        return _view(req, svc) if req is not None else None


def _target_study(tx: Tx, exam: Exam) -> str:
    own = tx.session.scalars(select(ImagingStudy.study_uid).where(ImagingStudy.exam_id == exam.id)).first()
    return own or generate_uid(prefix=UID_PREFIX, entropy_srcs=["radops-recon", exam.accession])


@dataclass(frozen=True, slots=True)
class _Prior:
    """What the link checks of the chosen prior, from the index or from the remote archive's C-FIND answers."""

    study_uid: str
    patient_id: str
    exam_id: int | None
    accession: str
    instance_count: int
    rows: list[dict[str, Any]]
    archive: str  # the remote archive's AE title; "" for the local index


def _prior(svc: Services, study_uid: str) -> _Prior:
    study = index.get_study(svc, study_uid)
    if study is not None:
        rows = _series_rows(svc, study) if study.instance_count else []
        return _Prior(study.study_uid, study.patient_id, study.exam_id, study.accession, study.instance_count,
                      rows, "")
    try:
        target = prior_archive(svc)
        found = [] if target is None else remote_qr.find_studies(
            target, calling_ae=svc.settings.dicom_ae_title, study_uid=study_uid,
            timeout=svc.settings.recon_prior_archive_timeout_s)
    except (NotFound, remote_qr.RemoteError) as exc:
        reason = exc.message if isinstance(exc, NotFound) else str(exc)
        raise InvalidInput(f"远程影像库无法连接：{reason}", code="recon_remote_unavailable") from exc
    remote = next((st for st in found if st.study_uid == study_uid), None)
    if remote is None or target is None:
        raise NotFound("所选历史检查不在影像库中", code="recon_prior_not_found")
    rows = _remote_series_rows(remote)
    return _Prior(remote.study_uid, remote.patient_id, None, remote.accession, sum(r["images"] for r in rows),
                  rows, target.ae_title)


def link(svc: Services, accession: str, *, study_uid: str, series_uid: str | None = None,
         by: Actor) -> dict[str, Any]:
    """Reference a prior's series (from the index or the remote archive) as the reconstruction source: the
    link is stored, the send is queued and the exam starts (已登记 -> 检查中) in one transaction. Refusals
    change nothing."""
    by.require(Perm.RECON_LINK)
    study = _prior(svc, study_uid.strip())
    rows = study.rows
    chosen = series_uid.strip() if series_uid else default_series(_facts(rows))
    with transaction(svc) as tx:
        exam, item = _exam(tx, accession, lock=True)
        _check_item(svc, item)
        status = ExamStatus(exam.status)
        if status not in (ExamStatus.REGISTERED, ExamStatus.ARRIVED, ExamStatus.IN_PROGRESS):
            raise InvalidInput(f"检查状态为“{EXAM_STATUS_LABELS[status]}”，不能引用历史图像", code="recon_bad_status")
        current = active_request(tx, exam.id, lock=True)
        if current is not None:
            raise InvalidInput(f"该检查已引用历史图像（检查号 {current.source_accession or current.source_study_uid}，"
                               f"{RECON_STATE_LABELS[ReconState(current.state)]}），不能重复引用；如需更换请先撤销",
                               code="recon_already_linked")
        if study.patient_id != exam.patient.mrn:
            raise InvalidInput("所选历史检查属于其他患者，不能引用", code="recon_other_patient")
        if study.exam_id == exam.id or study.accession == exam.accession:
            raise InvalidInput("不能引用本检查自身的图像", code="recon_self")
        if not study.instance_count:
            raise InvalidInput("所选历史检查没有图像，不能引用", code="recon_no_images")
        row = next((r for r in rows if r["uid"] == chosen), None)
        if chosen is None or row is None:
            raise InvalidInput("所选历史检查中没有可用于重建的 CT 序列（需至少 3 幅图像）" if chosen is None
                               else "所选序列不属于该历史检查", code="recon_bad_series")
        if row["modality"] != "CT" or row["images"] < 3:
            raise InvalidInput("只能引用至少 3 幅图像的 CT 序列", code="recon_bad_series")
        req = ReconRequest(exam_id=exam.id, source_study_uid=study.study_uid, source_series_uid=row["uid"],
                           source_accession=study.accession, target_study_uid=_target_study(tx, exam),
                           peer_ae=svc.settings.recon_ae_title, state=ReconState.PENDING.value, reason="",
                           linked_by=by.label, linked_at=tx.now, generation=1, total=row["images"], sent=0,
                           attempts=0, results=[], updated_at=tx.now)
        tx.session.add(req)
        tx.session.flush()
        req.outbox_id, _ = outbox.enqueue(tx, kind=KIND, target=req.peer_ae, key=f"{KIND}:{req.id}:1",
                                          payload={"request_id": req.id})
        if status is not ExamStatus.IN_PROGRESS:
            timeline.apply_in(tx, exam, Trigger.START, by, source="recon")
        timeline.append(tx, exam, TimelineKind.RECON_LINKED, by, study_uid=study.study_uid,
                        series_uid=row["uid"], source_accession=study.accession, images=row["images"],
                        source="remote" if study.archive else "local", archive=study.archive)
        audit.record(tx, by, TimelineKind.RECON_LINKED.value, "exam", exam.id, study_uid=study.study_uid,
                     series_uid=row["uid"], archive=study.archive)
        return _view(req, svc)


def _started_by_link(tx: Tx, exam_id: int) -> bool:
    """The exam's last start is the one a link made (its timeline row says source=recon)."""
    row = tx.session.scalars(select(ExamEvent).where(ExamEvent.exam_id == exam_id,
                                                     ExamEvent.kind == TimelineKind.STARTED.value)
                             .order_by(ExamEvent.id.desc()).limit(1)).first()
    return row is not None and (row.details or {}).get("source") == "recon"


def _own_images(tx: Tx, exam_id: int, target_study_uid: str) -> int:
    return int(tx.session.scalar(select(func.coalesce(func.sum(ImagingStudy.instance_count), 0)).where(
        or_(ImagingStudy.exam_id == exam_id, ImagingStudy.study_uid == target_study_uid))) or 0)


def unlink(svc: Services, accession: str, *, by: Actor) -> dict[str, Any]:
    """Withdraw the link while nothing has been sent (待发送 or 失败). When the link itself started the exam and
    nothing else happened since (no image of its own, no other link), the exam goes back to 已登记 (undo_start)
    in the same transaction; otherwise it stays 检查中 and `exam_note` says why."""
    by.require(Perm.RECON_LINK)
    with transaction(svc) as tx:
        exam, _item = _exam(tx, accession, lock=True)
        req = active_request(tx, exam.id, lock=True)
        if req is None:
            raise InvalidInput("该检查没有引用历史图像", code="recon_not_linked")
        state = ReconState(req.state)
        if state not in (ReconState.PENDING, ReconState.FAILED):
            raise InvalidInput(f"源图像{RECON_STATE_LABELS[state]}，不能撤销引用", code="recon_already_sent")
        move_request(tx, req, ReconTrigger.UNDO)
        req.undone_by, req.undone_at = by.label, tx.now
        timeline.append(tx, exam, TimelineKind.RECON_UNLINKED, by, study_uid=req.source_study_uid,
                        series_uid=req.source_series_uid)
        audit.record(tx, by, TimelineKind.RECON_UNLINKED.value, "exam", exam.id, request_id=req.id)
        tx.session.flush()
        keeps = None
        if ExamStatus(exam.status) is ExamStatus.IN_PROGRESS:
            keeps = undo_keeps_exam_started(started_by_link=_started_by_link(tx, exam.id),
                                            own_images=_own_images(tx, exam.id, req.target_study_uid),
                                            other_links=int(active_request(tx, exam.id) is not None))
            if keeps is None:
                timeline.apply_in(tx, exam, Trigger.UNDO_START, by, source="recon", request_id=req.id)
        status = ExamStatus(exam.status)
        note = keeps or (f"检查已退回“{EXAM_STATUS_LABELS[status]}”" if status is ExamStatus.REGISTERED else "")
        return {**_view(req, svc), "exam_status": status.value, "exam_status_label": EXAM_STATUS_LABELS[status],
                "exam_note": note}


def resend(svc: Services, accession: str, *, by: Actor) -> dict[str, Any]:
    """Send the source again (after 失败 or 重建超时): a new outbox row with fresh attempts."""
    by.require(Perm.RECON_LINK)
    with transaction(svc) as tx:
        exam, _item = _exam(tx, accession, lock=True)
        req = active_request(tx, exam.id, lock=True)
        if req is None:
            raise InvalidInput("该检查没有引用历史图像", code="recon_not_linked")
        if ExamStatus(exam.status) in NO_REPORT_EXPECTED:
            raise InvalidInput("检查已取消或中断，不能重新发送", code="recon_bad_status")
        move_request(tx, req, ReconTrigger.RESEND)
        req.generation += 1
        req.reason, req.sent, req.attempts, req.sent_at, req.deadline_at = "", 0, 0, None, None
        req.outbox_id, _ = outbox.enqueue(tx, kind=KIND, target=req.peer_ae, key=f"{KIND}:{req.id}:{req.generation}",
                                          payload={"request_id": req.id})
        audit.record(tx, by, "recon_resend", "exam", exam.id, request_id=req.id, generation=req.generation)
        return _view(req, svc)


def move_request(tx: Tx, req: ReconRequest, trigger: ReconTrigger) -> ReconState:
    state = next_recon_state(ReconState(req.state), trigger)
    req.state, req.updated_at = state.value, tx.now
    return state


__all__ = ["link", "link_of", "priors", "resend", "unlink"]
