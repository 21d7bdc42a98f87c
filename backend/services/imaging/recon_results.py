"""The results of a reconstruction (LN-7): their completion when the reconstruction system releases the
association that stored them (the exam -> 检查完成), the deadline job (重建超时) and the result series of an
exam for the viewer (docs/recon_interface.md)."""


from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydicom import Dataset
from sqlalchemy import select

from backend.db.models import Exam, ReconRequest
from backend.domain.actor import SYSTEM
from backend.domain.catalog import TimelineKind
from backend.domain.exam_flow import ExamStatus, Trigger
from backend.domain.recon import (
    AWAITING_RESULTS,
    ReconState,
    ReconTrigger,
)
from backend.services import timeline
from backend.services.base import Services, transaction
from backend.services.imaging import index
from backend.services.imaging.recon import active_request, instance_header, move_request

logger = logging.getLogger(__name__)


# ---- the results (LN-7) --------------------------------------------------------------------------------

def _first_header(svc: Services, series_uid: str, study_uid: str | None = None) -> Dataset | None:
    first = index.instances_of(svc, study_uid=study_uid, series_uid=series_uid)[:1]
    return instance_header(svc, first[0].sop_instance_uid) if first else None


def _orientation(ds: Dataset) -> list[float]:
    return [round(float(v), 3) for v in ds.get("ImageOrientationPatient", [])]


def _is_result(ds: Dataset | None, source: Dataset | None, source_series: str) -> bool:
    """A result series: it references the source series, and its geometry is the source's (same frame of
    reference and orientation), so the viewer can link them; anything else is kept but not counted."""
    if ds is None:
        return False
    refs = [str(r.get("SeriesInstanceUID", "")) for r in ds.get("ReferencedSeriesSequence", [])]
    if source_series not in refs:
        return False
    if source is not None and (str(ds.get("FrameOfReferenceUID", "")) != str(source.get("FrameOfReferenceUID", ""))
                               or _orientation(ds) != _orientation(source)):
        logger.warning("recon: result series %s ignored: its geometry is not the source's",
                       ds.get("SeriesInstanceUID", ""))
        return False
    return True


def results_released(svc: Services, study_uids: Iterable[str]) -> list[int]:
    """A peer released the association that stored instances into these studies: complete each waiting
    request whose study now holds series that reference its source (the exam -> 检查完成)."""
    uids = sorted(set(study_uids))
    if not uids:
        return []
    with transaction(svc, readonly=True) as tx:
        waiting = [(r.id, r.target_study_uid, r.source_series_uid) for r in tx.session.scalars(
            select(ReconRequest).where(ReconRequest.target_study_uid.in_(uids),
                                       ReconRequest.state.in_([s.value for s in AWAITING_RESULTS])))]
    done = []
    for request_id, study_uid, source in waiting:
        source_ds = _first_header(svc, source)
        results = [{"uid": se.series_uid, "number": se.series_number, "description": se.description,
                    "images": se.instance_count}
                   for se in index.series_of(svc, study_uid)
                   if _is_result(_first_header(svc, se.series_uid, study_uid), source_ds, source)]
        if results and _complete(svc, request_id, results):
            done.append(request_id)
    return done


def _complete(svc: Services, request_id: int, results: list[dict[str, Any]]) -> bool:
    with transaction(svc) as tx:
        req = tx.session.get(ReconRequest, request_id, with_for_update=True)
        if req is None or ReconState(req.state) not in AWAITING_RESULTS:
            return False
        exam = timeline.load_exam(tx, req.exam_id)
        move_request(tx, req, ReconTrigger.COMPLETE)
        req.results, req.completed_at = results, tx.now
        timeline.append(tx, exam, TimelineKind.RECON_COMPLETED, SYSTEM, series=len(results),
                        images=sum(int(r["images"]) for r in results))
        if ExamStatus(exam.status) is ExamStatus.IN_PROGRESS:
            timeline.apply_in(tx, exam, Trigger.COMPLETE, SYSTEM, source="recon")
        return True


def check_deadlines(svc: Services) -> int:
    """The job: requests sent longer than RADOPS_RECON_DEADLINE_S ago with no complete results -> 重建超时."""
    n = 0
    with transaction(svc) as tx:
        late = tx.session.scalars(select(ReconRequest).where(
            ReconRequest.state == ReconState.SENT.value, ReconRequest.deadline_at <= tx.now)
            .with_for_update(skip_locked=True).limit(100)).all()
        for req in late:
            move_request(tx, req, ReconTrigger.TIME_OUT)
            req.reason = "重建系统在时限内未返回完整结果"
            exam = timeline.load_exam(tx, req.exam_id, lock=False)
            timeline.append(tx, exam, TimelineKind.RECON_TIMED_OUT, SYSTEM, sent_at=req.sent_at.isoformat()
                            if req.sent_at else None)
            n += 1
    return n


def result_series_of(svc: Services, accession: str) -> dict[str, Any] | None:
    """For the viewer's default pairing: the exam's source series and its result series (plain UIDs)."""
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.scalars(select(Exam).where(Exam.accession == accession.strip())).first()
        req = active_request(tx, exam.id) if exam is not None else None
        if req is None:
            return None
        return {"source_study_uid": req.source_study_uid, "source_series_uid": req.source_series_uid,
                "target_study_uid": req.target_study_uid,
                "result_series": [str(r["uid"]) for r in req.results or []]}


__all__ = ["check_deadlines", "result_series_of", "results_released"]
