"""The one mapping from DICOM attributes to the archive's plain values (OpenREM dcmdatetime style):
DA to date, IS/US to int, PN to text; and the Part-10 file bytes of a received dataset."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

from backend.domain.imaging import InstanceHeader


def _text(ds: Dataset, keyword: str, limit: int = 128) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _int(ds: Dataset, keyword: str) -> int | None:
    value: Any = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(ds: Dataset, keyword: str) -> date | None:
    raw = _text(ds, keyword)
    if len(raw) < 8 or not raw[:8].isdigit():
        return None
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        return None


def header_of(ds: Dataset, *, transfer_syntax: str, sop_class_uid: str = "") -> InstanceHeader:
    """The indexed attributes of `ds` (the SOP class from the dataset, else the one the peer named)."""
    return InstanceHeader(
        sop_class_uid=_text(ds, "SOPClassUID", 64) or sop_class_uid,
        sop_instance_uid=_text(ds, "SOPInstanceUID", 64),
        study_uid=_text(ds, "StudyInstanceUID", 64),
        series_uid=_text(ds, "SeriesInstanceUID", 64),
        transfer_syntax=transfer_syntax,
        modality=_text(ds, "Modality", 16),
        accession=_text(ds, "AccessionNumber", 32),
        patient_id=_text(ds, "PatientID", 64),
        patient_name=_text(ds, "PatientName", 128),
        patient_sex=_text(ds, "PatientSex", 1),
        patient_birth_date=_date(ds, "PatientBirthDate"),
        study_date=_date(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime", 16),
        study_id=_text(ds, "StudyID", 16),
        study_description=_text(ds, "StudyDescription"),
        referring_physician=_text(ds, "ReferringPhysicianName", 64),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        body_part=_text(ds, "BodyPartExamined", 32),
        instance_number=_int(ds, "InstanceNumber"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        frames=_int(ds, "NumberOfFrames") or 1,
    )


def part10(encoded: bytes, *, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str,
           source_ae: str = "") -> bytes:
    """A DICOM file around the dataset bytes exactly as received: preamble, DICM, File Meta, then `encoded`."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "RADOPS"
    if source_ae:
        meta.SourceApplicationEntityTitle = source_ae
    buf = BytesIO()
    buf.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(DicomFileLike(buf), meta, enforce_standard=True)
    buf.write(encoded)
    return buf.getvalue()
