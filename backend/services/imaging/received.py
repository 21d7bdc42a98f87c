"""When a series is complete and a study received (issue 10 item 4): no new instance for
RADOPS_DICOM_STUDY_QUIET_S seconds (`domain.imaging.is_quiet`). A periodic job marks them and puts
`series_completed` / `study_received` on the exam's timeline; a later instance re-opens both."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db.models import ImagingSeries, ImagingStudy
from backend.domain.actor import SYSTEM
from backend.domain.catalog import TimelineKind
from backend.services import timeline
from backend.services.base import Services, transaction


def mark_received(svc: Services) -> dict[str, int]:
    """Mark every series and study quiet for the setting's seconds; one timeline row each (idempotent)."""
    done = {"series": 0, "studies": 0}
    with transaction(svc) as tx:
        cutoff = tx.now - timedelta(seconds=svc.settings.dicom_study_quiet_s)
        rows = tx.session.execute(
            select(ImagingSeries, ImagingStudy).join(ImagingStudy, ImagingStudy.id == ImagingSeries.study_id)
            .where(ImagingSeries.completed_at.is_(None), ImagingSeries.last_received_at <= cutoff)
            .with_for_update(of=ImagingSeries, skip_locked=True).limit(500)).all()
        for series, study in rows:
            series.completed_at = tx.now
            done["series"] += 1
            if study.exam_id is not None:
                exam = timeline.load_exam(tx, study.exam_id, lock=False)
                timeline.append(tx, exam, TimelineKind.SERIES_COMPLETED, SYSTEM, study_uid=study.study_uid,
                                series_uid=series.series_uid, modality=series.modality,
                                instances=series.instance_count)
        studies = tx.session.scalars(
            select(ImagingStudy).where(ImagingStudy.received_at.is_(None), ImagingStudy.last_received_at <= cutoff)
            .with_for_update(skip_locked=True).limit(500)).all()
        for study in studies:
            study.received_at = tx.now
            done["studies"] += 1
            if study.exam_id is not None:
                exam = timeline.load_exam(tx, study.exam_id, lock=False)
                timeline.append(tx, exam, TimelineKind.STUDY_RECEIVED, SYSTEM, study_uid=study.study_uid,
                                series=study.series_count, instances=study.instance_count,
                                size_bytes=study.size_bytes)
    return done
