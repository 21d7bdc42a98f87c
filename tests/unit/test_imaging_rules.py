"""The archive's pure rules (backend/domain/imaging.py) and the strict encoding walk (backend/dicom/wire.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydicom import Dataset
from pydicom.uid import RLELossless
from pynetdicom.dsutils import encode

from backend.dicom.wire import BadEncoding, check_encoding
from backend.domain.imaging import (
    DuplicatePolicy,
    ExamCandidate,
    StoreOutcome,
    StudyMatch,
    content_path,
    duplicate_outcome,
    is_quiet,
    match_study,
    valid_ae_title,
)
from tests.imaging_helpers import ct_slice

DAY = date(2026, 11, 27)
EXAMS = [ExamCandidate(1, "A1", "P1", "CT", DAY), ExamCandidate(2, "A2", "P1", "DX", DAY),
         ExamCandidate(3, "A3", "P2", "CT", DAY - timedelta(days=1))]


@pytest.mark.parametrize(("accession", "patient", "modality", "day", "expected"), [
    ("A2", "P9", "CT", None, (2, StudyMatch.ACCESSION)),  # the accession wins over everything else
    ("", "P1", "CT", DAY, (1, StudyMatch.PATIENT_DATE)),  # two exams that day: the study's modality decides
    ("ZZ", "P2", "CT", DAY - timedelta(days=1), (3, StudyMatch.PATIENT_DATE)),
    ("", "P1", "MR", DAY, (None, StudyMatch.UNMATCHED)),  # two exams, neither of its modality
    ("", "P2", "CT", DAY, (None, StudyMatch.UNMATCHED)),  # the patient's exam was another day
    ("", "", "CT", DAY, (None, StudyMatch.UNMATCHED)),
])
def test_match_study(accession: str, patient: str, modality: str, day: date | None,
                     expected: tuple[object, ...]) -> None:
    assert match_study(accession=accession, patient_id=patient, modality=modality, study_day=day,
                       candidates=EXAMS) == expected


@pytest.mark.parametrize(("same", "policy", "outcome"), [
    (True, DuplicatePolicy.KEEP, StoreOutcome.SAME), (True, DuplicatePolicy.REPLACE, StoreOutcome.SAME),
    (False, DuplicatePolicy.KEEP, StoreOutcome.KEPT), (False, DuplicatePolicy.REPLACE, StoreOutcome.REPLACED)])
def test_duplicate_outcome(same: bool, policy: DuplicatePolicy, outcome: StoreOutcome) -> None:
    assert duplicate_outcome(same_bytes=same, policy=policy) is outcome


def test_content_path_is_by_uids_and_refuses_anything_else() -> None:
    path = content_path("1.2.3", "1.2.3.4", "1.2.3.4.5")
    assert path.endswith("/1.2.3/1.2.3.4/1.2.3.4.5.dcm")
    assert len(path.split("/")[0]) == 2
    with pytest.raises(ValueError, match="UID"):
        content_path("1.2.3", "../../etc", "1.2")


def test_quiet_after_the_setting() -> None:
    last = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert not is_quiet(last, at=last + timedelta(seconds=59), quiet_s=60)
    assert is_quiet(last, at=last + timedelta(seconds=60), quiet_s=60)


def test_ae_titles() -> None:
    assert valid_ae_title("CT01")
    assert not valid_ae_title("")
    assert not valid_ae_title("   ")
    assert not valid_ae_title("A" * 17)
    assert not valid_ae_title("CT\\01")


def _with_sequence() -> Dataset:
    ds = ct_slice(size=8)
    inner = Dataset()
    inner.CodeMeaning = "x"
    item = Dataset()
    item.ConceptNameCodeSequence = [inner]
    ds.ReferencedStudySequence = [item]
    return ds


@pytest.mark.parametrize("implicit", [False, True])
def test_whole_datasets_pass_the_walk(implicit: bool) -> None:
    check_encoding(encode(ct_slice(size=8), implicit, True), implicit=implicit, little=True)
    check_encoding(encode(_with_sequence(), implicit, True), implicit=implicit, little=True)


def test_encapsulated_pixel_data_passes() -> None:
    ds = ct_slice(size=8)
    ds.compress(RLELossless)
    check_encoding(encode(ds, False, True), implicit=False, little=True)


@pytest.mark.parametrize("cut", [1, 100, 300])
def test_truncated_bytes_fail(cut: int) -> None:
    raw = encode(ct_slice(size=16), False, True)
    with pytest.raises(BadEncoding):
        check_encoding(raw[:-cut], implicit=False, little=True)


def test_implicit_bytes_in_an_explicit_context_and_text_fail() -> None:
    with pytest.raises(BadEncoding):
        check_encoding(encode(ct_slice(size=8), True, True), implicit=False, little=True)
    with pytest.raises(BadEncoding):
        check_encoding(b"not a dataset, only some text here", implicit=False, little=True)
