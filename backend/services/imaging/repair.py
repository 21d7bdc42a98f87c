"""The start-up check of the archive (issue 10, "a start-up check repairs what a crash left"): finish or
drop staged files, and drop index rows whose file is gone, so every row has its file and every file its row."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select

from backend.db.models import ImagingInstance, ImagingSeries, ImagingStudy
from backend.services.base import Services, transaction
from backend.services.imaging.archive import image_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepairReport:
    finished: int  # staged files whose row was committed: renamed into place
    dropped_staged: int  # staged files without a matching row (never acknowledged): deleted
    dropped_rows: int  # rows whose file is gone: deleted (and the counts corrected)
    orphan_files: int  # files with no row: deleted


def repair_archive(svc: Services, *, scan_rows: bool = True) -> RepairReport:
    """Bring the image store and the index back into agreement after a crash."""
    store = image_store(svc)
    with transaction(svc, readonly=True) as tx:
        known = dict(tx.session.execute(select(ImagingInstance.path, ImagingInstance.sha256)).all())
    finished = dropped = 0
    for key in list(store.staged()):
        if key in known and hashlib.sha256(store.read_staged(key)).hexdigest() == known[key]:
            store.commit(key)
            finished += 1
        else:
            store.discard(key)
            dropped += 1
    orphans = 0
    for key in list(store.keys()):
        if key not in known:
            store.delete(key)
            orphans += 1
    missing = [k for k in known if not store.exists(k)] if scan_rows else []
    if missing:
        _drop_rows(svc, missing)
    if finished or dropped or missing or orphans:
        logger.warning("archive repaired: %d finished, %d staged dropped, %d rows without file, %d orphan files",
                       finished, dropped, len(missing), orphans)
    return RepairReport(finished, dropped, len(missing), orphans)


def _drop_rows(svc: Services, keys: list[str]) -> None:
    with transaction(svc) as tx:
        for row in tx.session.scalars(select(ImagingInstance).where(ImagingInstance.path.in_(keys))).all():
            series = tx.session.get(ImagingSeries, row.series_id)
            study = tx.session.get(ImagingStudy, row.study_id)
            for parent in (series, study):
                if parent is not None:
                    parent.instance_count -= 1
                    parent.size_bytes -= row.size_bytes
            tx.session.delete(row)
