"""Archive one received instance: its file in the image store, its rows in the index, its exam's timeline.

Order of writes (issue 10, "nothing is half-written"): the bytes are *staged* under their key, the index
rows are committed, then the staged file is *committed* (renamed into place). A crash before the index
commit leaves a staged file with no row (the start-up repair drops it; the sender got no success); a
crash after it leaves a row and a staged file (the repair renames it into place). So no acknowledged
instance is lost and no row names a missing file. Readers (DICOMweb, viewer, C-MOVE) use `read_instance`
and `instance_path`; the lookups are in `backend/services/imaging/index.py`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from backend.db.models import ImagingInstance, ImagingSeries, ImagingStudy
from backend.dicom.storage import FileImageStore
from backend.domain.actor import SYSTEM
from backend.domain.catalog import TimelineKind
from backend.domain.errors import NotFound
from backend.domain.imaging import (
    DuplicatePolicy,
    InstanceHeader,
    StoreOutcome,
    StudyMatch,
    content_path,
    duplicate_outcome,
)
from backend.ports.image_store import ImageStore
from backend.services import timeline
from backend.services.base import Services, Tx, transaction
from backend.services.imaging import matching

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing one instance did; `exam_id` is the study's exam (None while unmatched)."""

    outcome: StoreOutcome
    study_uid: str
    exam_id: int | None
    key: str


def image_store(svc: Services) -> ImageStore:
    """The configured image store (S3 by settings), else files under var/dicom; one per process."""
    if svc.ports.images is not None:
        return svc.ports.images
    store = svc.cache.get("imaging.store")
    if store is None:
        store = svc.cache["imaging.store"] = FileImageStore(svc.settings.var_dir / "dicom")
    return store


def duplicate_policy(svc: Services) -> DuplicatePolicy:
    raw = svc.settings.dicom_duplicate_policy
    return DuplicatePolicy(raw) if raw in DuplicatePolicy.__members__.values() else DuplicatePolicy.KEEP


def store_instance(svc: Services, header: InstanceHeader, data: bytes, *, received_from: str = "") -> Stored:
    """Archive one instance (`data`: its whole Part-10 file, kept byte for byte); a known SOP Instance UID
    never makes a second row: same bytes change nothing, other bytes follow RADOPS_DICOM_DUPLICATE_POLICY."""
    digest = hashlib.sha256(data).hexdigest()
    store = image_store(svc)
    for attempt in (1, 2):  # a concurrent first instance of the same study or series: read it and go on
        try:
            return _store_once(svc, store, header, data, digest, received_from)
        except IntegrityError:
            if attempt == 2:
                raise
            logger.info("study or series created concurrently; storing again")
    raise AssertionError("unreachable")


def _store_once(svc: Services, store: ImageStore, header: InstanceHeader, data: bytes, digest: str,
                received_from: str) -> Stored:
    staged: str | None = None
    try:
        with transaction(svc) as tx:
            known_id = tx.session.connection().execute(_FIND, {"sop": header.sop_instance_uid}).scalar()
            existing = tx.session.get(ImagingInstance, known_id) if known_id is not None else None
            if existing is not None:
                result, staged = _duplicate(tx, svc, store, existing, header, data, digest, received_from)
            else:
                key = content_path(header.study_uid, header.series_uid, header.sop_instance_uid)
                store.stage(key, data)
                staged = key
                result = _index_new(tx, header, key, len(data), digest, received_from)
    except BaseException:
        if staged is not None:
            store.discard(staged)
        raise
    if staged is not None:
        store.commit(staged)
    return result


def _index_new(tx: Tx, header: InstanceHeader, key: str, size: int, digest: str, received_from: str) -> Stored:
    # The common case (the series is known): three statements, counters moved in SQL (row-locked on
    # PostgreSQL by the UPDATE itself); the ORM path below only for a study's or series' first instance.
    known = _count_known(tx, header, size)
    if known is None:
        study, series = _study_and_series(tx, header, received_from)
        _count(tx, study, series, size, header.modality)
        tx.session.flush()
        known = (series.id, study.id, study.study_uid, study.exam_id)
    series_id, study_id, study_uid, exam_id = known
    tx.session.connection().execute(insert(_INSTANCES), {
        "series_id": series_id, "study_id": study_id, "sop_instance_uid": header.sop_instance_uid,
        "sop_class_uid": header.sop_class_uid, "instance_number": header.instance_number,
        "transfer_syntax": header.transfer_syntax, "rows": header.rows, "columns": header.columns,
        "frames": header.frames, "size_bytes": size, "sha256": digest, "path": key,
        "received_from": received_from, "received_at": tx.now})
    return Stored(StoreOutcome.STORED, study_uid, exam_id, key)


def _count_known(tx: Tx, header: InstanceHeader, size: int) -> tuple[int, int, str, int | None] | None:
    """Count one more instance into its known series and study; None when the series is new."""
    conn = tx.session.connection()
    series = conn.execute(_BUMP_SERIES, {"uid": header.series_uid, "size": size, "now": tx.now}).first()
    if series is None:
        return None
    study = conn.execute(_BUMP_STUDY, {"sid": series.study_id, "size": size, "now": tx.now}).one()
    if header.modality and header.modality not in study.modalities.split("\\"):
        conn.execute(update(_STUDIES).where(_STUDIES.c.id == series.study_id).values(
            modalities="\\".join(filter(None, [*study.modalities.split("\\"), header.modality]))[:64]))
    return series.id, series.study_id, study.study_uid, study.exam_id


# Built once: the hot path of every received instance runs them with new values only (no ORM, no recompile).
_SERIES, _STUDIES, _INSTANCES = (cast(Table, m.__table__) for m in (ImagingSeries, ImagingStudy, ImagingInstance))
_NOW = bindparam("now", type_=ImagingSeries.last_received_at.type)
_BUMP_SERIES = (update(_SERIES).where(_SERIES.c.series_uid == bindparam("uid"))
                .values(instance_count=_SERIES.c.instance_count + 1,
                        size_bytes=_SERIES.c.size_bytes + bindparam("size"), last_received_at=_NOW, completed_at=None)
                .returning(_SERIES.c.id, _SERIES.c.study_id))
_BUMP_STUDY = (update(_STUDIES).where(_STUDIES.c.id == bindparam("sid"))
               .values(instance_count=_STUDIES.c.instance_count + 1,
                       size_bytes=_STUDIES.c.size_bytes + bindparam("size"), last_received_at=_NOW, received_at=None)
               .returning(_STUDIES.c.study_uid, _STUDIES.c.exam_id, _STUDIES.c.modalities))
_FIND = select(_INSTANCES.c.id).where(_INSTANCES.c.sop_instance_uid == bindparam("sop"))


def _duplicate(tx: Tx, svc: Services, store: ImageStore, row: ImagingInstance, header: InstanceHeader,
               data: bytes, digest: str, received_from: str) -> tuple[Stored, str | None]:
    outcome = duplicate_outcome(same_bytes=row.sha256 == digest, policy=duplicate_policy(svc))
    study = tx.session.get(ImagingStudy, row.study_id)
    assert study is not None
    result = Stored(outcome, study.study_uid, study.exam_id, row.path)
    if outcome is StoreOutcome.SAME:
        return result, None
    staged = None
    if outcome is StoreOutcome.REPLACED:
        store.stage(row.path, data)
        staged = row.path
        delta = len(data) - row.size_bytes
        row.sha256, row.size_bytes, row.transfer_syntax = digest, len(data), header.transfer_syntax
        row.received_from, row.received_at = received_from, tx.now
        study.size_bytes += delta
        series = tx.session.get(ImagingSeries, row.series_id)
        if series is not None:
            series.size_bytes += delta
    logger.info("instance received again with other bytes (study %s): %s", study.id, outcome.value)
    if study.exam_id is not None:
        exam = timeline.load_exam(tx, study.exam_id, lock=False)
        timeline.append(tx, exam, TimelineKind.INSTANCE_DUPLICATE, SYSTEM, outcome=outcome.value,
                        sop_instance_uid=header.sop_instance_uid, received_from=received_from)
    return result, staged


def _study_and_series(tx: Tx, header: InstanceHeader, received_from: str) -> tuple[ImagingStudy, ImagingSeries]:
    study = tx.session.scalars(select(ImagingStudy).where(ImagingStudy.study_uid == header.study_uid)
                               .with_for_update()).first()
    if study is None:
        exam_id, how = matching.find_exam(tx, header, received_from=received_from)
        study = ImagingStudy(
            study_uid=header.study_uid, exam_id=exam_id, match=how.value, accession=header.accession,
            patient_id=header.patient_id, patient_name=header.patient_name, patient_sex=header.patient_sex,
            patient_birth_date=header.patient_birth_date, study_date=header.study_date,
            study_time=header.study_time, study_id=header.study_id, description=header.study_description,
            referring_physician=header.referring_physician, modalities="", series_count=0, instance_count=0,
            size_bytes=0, received_from=received_from, first_received_at=tx.now, last_received_at=tx.now)
        tx.session.add(study)
        tx.session.flush()
        if exam_id is not None:
            exam = timeline.load_exam(tx, exam_id, lock=False)
            timeline.append(tx, exam, TimelineKind.IMAGES_FIRST_RECEIVED, SYSTEM, study_uid=header.study_uid,
                            match=how.value, received_from=received_from)
        else:
            logger.info("study %s matches no exam: listed as unmatched", study.id)
    series = tx.session.scalars(select(ImagingSeries).where(ImagingSeries.series_uid == header.series_uid)).first()
    if series is None:
        series = ImagingSeries(
            study_id=study.id, series_uid=header.series_uid, modality=header.modality,
            series_number=header.series_number, description=header.series_description,
            body_part=header.body_part, instance_count=0, size_bytes=0, first_received_at=tx.now,
            last_received_at=tx.now)
        tx.session.add(series)
        study.series_count += 1
        tx.session.flush()
    return study, series


def _count(tx: Tx, study: ImagingStudy, series: ImagingSeries, size: int, modality: str) -> None:
    study.instance_count += 1
    study.size_bytes += size
    study.last_received_at = tx.now
    study.received_at = None  # a new instance re-opens a study that had gone quiet
    if modality and modality not in study.modalities.split("\\"):
        study.modalities = "\\".join(filter(None, [*study.modalities.split("\\"), modality]))[:64]
    series.instance_count += 1
    series.size_bytes += size
    series.last_received_at = tx.now
    series.completed_at = None


def read_instance(svc: Services, sop_instance_uid: str) -> bytes:
    """The archived file of an instance, byte for byte as received (NotFound when unknown)."""
    return image_store(svc).read(_key(svc, sop_instance_uid))


def instance_path(svc: Services, sop_instance_uid: str) -> Path | None:
    """The local file of an instance (None when the files are in object storage: use read_instance)."""
    return image_store(svc).local_path(_key(svc, sop_instance_uid))


def _key(svc: Services, sop_instance_uid: str) -> str:
    with transaction(svc, readonly=True) as tx:
        key = tx.session.scalars(select(ImagingInstance.path).where(
            ImagingInstance.sop_instance_uid == sop_instance_uid)).first()
    if key is None:
        raise NotFound(f"影像不存在：{sop_instance_uid}", code="instance_not_found")
    return key


__all__ = ["Stored", "StudyMatch", "image_store", "instance_path", "read_instance", "store_instance"]
