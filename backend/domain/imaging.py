"""Imaging archive rules (issue 10): where an instance's file lives, which exam a study belongs to, what a
second copy of an instance does, and when a series or a study counts as received. Pure functions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from backend.domain.errors import InvalidInput


class StudyMatch(StrEnum):
    """How an archived study found its exam (or that it did not)."""

    ACCESSION = "accession"  # the study's AccessionNumber is an exam's
    PATIENT_DATE = "patient_date"  # no accession match: the patient's only exam of that modality that day
    MANUAL = "manual"  # staff matched it on the unmatched-studies page
    UNMATCHED = "unmatched"


class DuplicatePolicy(StrEnum):
    """What a second instance with a known SOP Instance UID but different bytes does."""

    KEEP = "keep"  # the first copy stays, the second is dropped (and the timeline says so)
    REPLACE = "replace"  # the second copy replaces the first


class StoreOutcome(StrEnum):
    """What storing one received instance did."""

    STORED = "stored"
    SAME = "same"  # identical bytes already archived: nothing happens
    KEPT = "kept"  # different bytes, policy keep: the archived copy stays
    REPLACED = "replaced"  # different bytes, policy replace


MATCH_LABELS: Final = {StudyMatch.ACCESSION: "检查号匹配", StudyMatch.PATIENT_DATE: "患者+日期匹配",
                       StudyMatch.MANUAL: "人工匹配", StudyMatch.UNMATCHED: "未匹配"}

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def _da(raw: str) -> date:
    digits = raw.replace("-", "").replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        raise InvalidInput(f"日期格式有误：{raw}", code="invalid_query", field="StudyDate")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise InvalidInput(f"日期格式有误：{raw}", code="invalid_query", field="StudyDate") from exc


def da_range(raw: str) -> tuple[date | None, date | None]:
    """A DA matching key: `YYYYMMDD`, `A-B`, `A-` or `-B` (PS3.4 C.2.2.2.5); anything else is refused (QIDO-RS
    answers 400, C-FIND 0xA900), never read as "any date"."""
    if "-" in raw.strip("-") or raw.startswith("-") or raw.endswith("-"):
        low, _, high = raw.partition("-")
        return (_da(low) if low else None), (_da(high) if high else None)
    day = _da(raw)
    return day, day


def valid_uid(uid: str) -> bool:
    """A DICOM UID: digits and dots, at most 64 characters."""
    return 0 < len(uid) <= 64 and bool(_UID.match(uid))


def content_path(study_uid: str, series_uid: str, sop_uid: str) -> str:
    """The storage key of an instance: by its UIDs, spread over 256 top folders by the study's hash (so one
    folder never holds every study of ten years)."""
    for uid in (study_uid, series_uid, sop_uid):
        if not valid_uid(uid):
            raise ValueError(f"not a DICOM UID: {uid!r}")
    fan = hashlib.sha1(study_uid.encode()).hexdigest()[:2]
    return f"{fan}/{study_uid}/{series_uid}/{sop_uid}.dcm"


@dataclass(frozen=True, slots=True)
class ExamCandidate:
    """An exam a study could belong to, in plain values."""

    exam_id: int
    accession: str
    patient_mrn: str
    modality: str
    day: date | None  # the exam's local day (scheduled, else created)


def match_study(*, accession: str, patient_id: str, modality: str, study_day: date | None,
                candidates: list[ExamCandidate]) -> tuple[int | None, StudyMatch]:
    """The exam of a study: by accession number; else the patient's one exam of that day (of the study's
    modality when several); none when nothing or more than one fits."""
    if accession:
        by_acc = [c for c in candidates if c.accession == accession]
        if len(by_acc) == 1:
            return by_acc[0].exam_id, StudyMatch.ACCESSION
    if not patient_id or study_day is None:
        return None, StudyMatch.UNMATCHED
    same_day = [c for c in candidates if c.patient_mrn == patient_id and c.day == study_day]
    if len(same_day) > 1 and modality:
        same_day = [c for c in same_day if c.modality == modality]
    if len(same_day) == 1:
        return same_day[0].exam_id, StudyMatch.PATIENT_DATE
    return None, StudyMatch.UNMATCHED


def duplicate_outcome(*, same_bytes: bool, policy: DuplicatePolicy) -> StoreOutcome:
    """A second copy of a known SOP Instance UID: identical bytes change nothing; else the policy decides."""
    if same_bytes:
        return StoreOutcome.SAME
    return StoreOutcome.REPLACED if policy is DuplicatePolicy.REPLACE else StoreOutcome.KEPT


def is_quiet(last_received_at: datetime, *, at: datetime, quiet_s: float) -> bool:
    """A study (or series) counts as received when no new instance arrived for `quiet_s` seconds."""
    return at - last_received_at >= timedelta(seconds=quiet_s)


class NodeRight(StrEnum):
    """What a known DICOM node may do with us."""

    STORE = "store"
    QUERY = "query"
    RETRIEVE = "retrieve"
    WORKLIST = "worklist"


RIGHT_LABELS: Final = {NodeRight.STORE: "发送图像", NodeRight.QUERY: "查询", NodeRight.RETRIEVE: "调阅",
                       NodeRight.WORKLIST: "工作列表"}


def valid_ae_title(ae: str) -> bool:
    """An AE title: 1-16 characters of printable ASCII without backslash, not only spaces."""
    return 0 < len(ae) <= 16 and ae.strip() != "" and all(32 <= ord(c) < 127 and c != "\\" for c in ae)


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """What the archive indexes of one instance, in plain values (backend/dicom/tags.py reads it)."""

    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    transfer_syntax: str
    modality: str = ""
    accession: str = ""
    patient_id: str = ""
    patient_name: str = ""
    patient_sex: str = ""
    patient_birth_date: date | None = None
    study_date: date | None = None
    study_time: str = ""
    study_id: str = ""
    study_description: str = ""
    referring_physician: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    frames: int = 1


class HeaderProblem(StrEnum):
    """Why a received instance cannot be archived (each maps to a C-STORE failure status)."""

    NOT_DICOM = "not_dicom"
    NO_SOP_INSTANCE_UID = "no_sop_instance_uid"
    MISSING_UID = "missing_uid"
    SOP_CLASS_MISMATCH = "sop_class_mismatch"
    BAD_TRANSFER_SYNTAX = "bad_transfer_syntax"
    TOO_LARGE = "too_large"


def header_problem(header: InstanceHeader) -> HeaderProblem | None:
    """A header the archive cannot index: no SOP Instance UID, or a study/series/class UID missing or bad."""
    if not header.sop_instance_uid:
        return HeaderProblem.NO_SOP_INSTANCE_UID
    if not all(valid_uid(u) for u in (header.sop_instance_uid, header.study_uid, header.series_uid,
                                      header.sop_class_uid)):
        return HeaderProblem.MISSING_UID
    return None


class StepStatus(StrEnum):
    """A Modality Performed Procedure Step's status, in DICOM's words (PerformedProcedureStepStatus)."""

    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"


# The exam trigger each MPPS status fires (IHE Scheduled Workflow: the scanner's own start and end).
STEP_TRIGGER: Final = {StepStatus.IN_PROGRESS: "start", StepStatus.COMPLETED: "complete",
                       StepStatus.DISCONTINUED: "discontinue"}
FINAL_STEPS: Final = frozenset({StepStatus.COMPLETED, StepStatus.DISCONTINUED})
# Exams a worklist lists: registered or checked in, not yet started by anyone.
WORKLIST_STATUSES: Final = ("registered", "arrived")
