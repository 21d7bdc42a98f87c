"""The archive (issue 10 item 3): files by UIDs plus index rows, matching to exams, duplicates, the
crash repair, and the study-received timeline (item 4), on a real database and real files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import Exam, ImagingInstance, ImagingStudy
from backend.domain.catalog import TimelineKind
from backend.domain.imaging import StoreOutcome, StudyMatch, content_path
from backend.services import timeline
from backend.services.base import Services, transaction
from backend.services.imaging import archive, index, matching, received, repair
from tests.helpers import register
from tests.imaging_helpers import ct_slice, file_bytes, header


@dataclass(frozen=True)
class Made:
    id: int
    accession: str
    mrn: str


def _exam(svc: Services, actors: dict[str, Any]) -> Made:
    made = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, made["exam_id"])
        assert exam is not None
        return Made(exam.id, exam.accession, exam.patient.mrn)


def _kinds(svc: Services, exam_id: int) -> list[str]:
    return [e["kind"] for e in timeline.events_of(svc, exam_id)]


def test_an_instance_is_stored_byte_for_byte_and_indexed_under_its_exam(svc: Services, actors: Any) -> None:
    exam = _exam(svc, actors)
    ds = ct_slice(accession=exam.accession, patient_id="whatever")
    data = file_bytes(ds)
    stored = archive.store_instance(svc, header(ds), data, received_from="CT01")
    assert stored.outcome is StoreOutcome.STORED
    assert stored.exam_id == exam.id
    assert archive.read_instance(svc, ds.SOPInstanceUID) == data
    path = archive.instance_path(svc, ds.SOPInstanceUID)
    assert path is not None
    assert path.read_bytes() == data
    assert path.as_posix().endswith(content_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID))
    study = index.get_study(svc, ds.StudyInstanceUID)
    assert study is not None
    assert study.match == StudyMatch.ACCESSION
    assert study.instance_count == 1
    assert study.size_bytes == len(data)
    assert study.modalities == "CT"
    assert study.received_from == "CT01"
    assert [i.sop_instance_uid for i in index.instances_of(svc, study_uid=ds.StudyInstanceUID)] == [ds.SOPInstanceUID]
    assert _kinds(svc, exam.id).count(TimelineKind.IMAGES_FIRST_RECEIVED) == 1


def test_a_study_without_accession_matches_by_patient_and_day(svc: Services, actors: Any) -> None:
    exam = _exam(svc, actors)
    day = svc.clock().astimezone(svc.tz).strftime("%Y%m%d")
    ds = ct_slice(patient_id=exam.mrn, study_date=day)
    assert archive.store_instance(svc, header(ds), file_bytes(ds)).exam_id == exam.id
    assert index.get_study(svc, ds.StudyInstanceUID).match == StudyMatch.PATIENT_DATE  # type: ignore[union-attr]


def test_an_unmatched_study_is_listed_and_matched_by_hand(svc: Services, actors: Any) -> None:
    exam = _exam(svc, actors)
    ds = ct_slice(accession="NOSUCH", patient_id="NOBODY")
    archive.store_instance(svc, header(ds), file_bytes(ds))
    listed = matching.unmatched_studies(svc, actors["clerk"])
    row = next(r for r in listed if r["study_uid"] == ds.StudyInstanceUID)
    matching.match_by_hand(svc, row["id"], exam.accession, by=actors["clerk"])
    assert ds.StudyInstanceUID not in {r["study_uid"] for r in matching.unmatched_studies(svc, actors["clerk"])}
    assert index.get_study(svc, ds.StudyInstanceUID).exam_id == exam.id  # type: ignore[union-attr]
    assert TimelineKind.STUDY_MATCHED in _kinds(svc, exam.id)


def test_the_same_instance_twice_with_the_same_bytes_changes_nothing(svc: Services) -> None:
    ds = ct_slice()
    data = file_bytes(ds)
    archive.store_instance(svc, header(ds), data)
    assert archive.store_instance(svc, header(ds), data).outcome is StoreOutcome.SAME
    assert index.get_study(svc, ds.StudyInstanceUID).instance_count == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(("policy", "outcome", "kept_first"),
                         [("keep", StoreOutcome.KEPT, True), ("replace", StoreOutcome.REPLACED, False)])
def test_other_bytes_for_a_known_instance_follow_the_policy(svc: Services, actors: Any, policy: str,
                                                            outcome: StoreOutcome, kept_first: bool) -> None:
    svc.settings = svc.settings.with_(dicom_duplicate_policy=policy)
    exam = _exam(svc, actors)
    first = ct_slice(accession=exam.accession)
    second = ct_slice(accession=exam.accession, study_uid=first.StudyInstanceUID,
                      series_uid=first.SeriesInstanceUID, sop_uid=first.SOPInstanceUID, fill=7)
    archive.store_instance(svc, header(first), file_bytes(first))
    assert archive.store_instance(svc, header(second), file_bytes(second)).outcome is outcome
    expected = file_bytes(first) if kept_first else file_bytes(second)
    assert archive.read_instance(svc, first.SOPInstanceUID) == expected
    with transaction(svc, readonly=True) as tx:
        assert len(tx.session.scalars(select(ImagingInstance).where(
            ImagingInstance.sop_instance_uid == first.SOPInstanceUID)).all()) == 1
    dup = [e for e in timeline.events_of(svc, exam.id) if e["kind"] == TimelineKind.INSTANCE_DUPLICATE]
    assert [d["details"]["outcome"] for d in dup] == [outcome.value]


def test_a_failed_index_write_leaves_no_file(svc: Services) -> None:
    ds = ct_slice()
    bad = header(ds)
    from dataclasses import replace
    bad = replace(bad, study_time="x" * 40)  # longer than the column: the index insert fails on PostgreSQL
    try:
        archive.store_instance(svc, bad, file_bytes(ds))
    except Exception:
        store = archive.image_store(svc)
        assert list(store.staged()) == []
        assert list(store.keys()) == []
    else:  # SQLite does not enforce VARCHAR lengths: the instance is stored whole instead
        assert archive.read_instance(svc, ds.SOPInstanceUID) == file_bytes(ds)


def test_start_up_repair_finishes_committed_and_drops_unacknowledged_files(svc: Services) -> None:
    store = archive.image_store(svc)
    done, lost, gone = ct_slice(), ct_slice(), ct_slice()
    for ds in (done, gone):
        archive.store_instance(svc, header(ds), file_bytes(ds))
    # A crash after the index commit, before the rename: the row is there, the file only staged.
    key = content_path(done.StudyInstanceUID, done.SeriesInstanceUID, done.SOPInstanceUID)
    path = store.local_path(key)
    assert path is not None
    path.rename(path.with_name(path.name + ".part"))
    # A crash before the index commit: a staged file without a row (never acknowledged).
    lost_key = content_path(lost.StudyInstanceUID, lost.SeriesInstanceUID, lost.SOPInstanceUID)
    store.stage(lost_key, file_bytes(lost))
    # A file lost under a row (disk trouble): the row goes too.
    gone_key = content_path(gone.StudyInstanceUID, gone.SeriesInstanceUID, gone.SOPInstanceUID)
    store.delete(gone_key)
    report = repair.repair_archive(svc)
    assert (report.finished, report.dropped_staged, report.dropped_rows) == (1, 1, 1)
    assert archive.read_instance(svc, done.SOPInstanceUID) == file_bytes(done)
    assert list(store.staged()) == []
    assert not store.exists(lost_key)
    assert index.get_instance(svc, gone.SOPInstanceUID) is None
    assert index.get_study(svc, gone.StudyInstanceUID).instance_count == 0  # type: ignore[union-attr]


def test_series_complete_and_study_received_after_the_quiet_seconds(svc: Services, actors: Any, clock: Any) -> None:
    svc.settings = svc.settings.with_(dicom_study_quiet_s=60)
    exam = _exam(svc, actors)
    first = ct_slice(accession=exam.accession)
    archive.store_instance(svc, header(first), file_bytes(first))
    clock.advance(seconds=30)
    second = ct_slice(accession=exam.accession, study_uid=first.StudyInstanceUID,
                      series_uid=first.SeriesInstanceUID, number=2)
    archive.store_instance(svc, header(second), file_bytes(second))
    clock.advance(seconds=45)  # 75 s after the first, 45 s after the last: not yet quiet
    received.mark_received(svc)
    assert TimelineKind.STUDY_RECEIVED not in _kinds(svc, exam.id)
    clock.advance(seconds=20)
    received.mark_received(svc)
    received.mark_received(svc)  # idempotent
    kinds = _kinds(svc, exam.id)
    assert kinds.count(TimelineKind.SERIES_COMPLETED) == 1
    assert kinds.count(TimelineKind.STUDY_RECEIVED) == 1
    with transaction(svc, readonly=True) as tx:
        study = tx.session.scalars(select(ImagingStudy).where(
            ImagingStudy.study_uid == first.StudyInstanceUID)).one()
        assert study.received_at == clock()
        assert study.instance_count == 2
        assert clock() - study.last_received_at >= timedelta(seconds=60)
