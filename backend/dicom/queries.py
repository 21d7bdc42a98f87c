"""Query/Retrieve and worklist identifiers <-> the archive's plain values: DICOM matching of the keys a
peer sends (single value, wildcard * ?, date range, UID list) and the response datasets (PS3.4 C.2)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from datetime import date
from typing import Any

from pydicom import Dataset
from pydicom.sequence import Sequence

from backend.dicom.tags import value_text
from backend.domain.imaging import da_range
from backend.services.base import Services
from backend.services.imaging import index
from backend.services.imaging.worklist import WorklistItem


def matches(pattern: str, value: str) -> bool:
    """Single-value or wildcard matching (case-sensitive as DICOM, except PN which callers upper-case)."""
    if not pattern or pattern == "*":
        return True
    if "\\" in pattern:  # a list of UIDs
        return value in pattern.split("\\")
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(value, pattern)
    return value == pattern


def _da_text(d: date | None) -> str:
    return d.strftime("%Y%m%d") if d else ""


def _exact(pattern: str) -> str | None:
    return pattern if pattern and not any(c in pattern for c in "*?\\") else None


def find(svc: Services, identifier: Dataset) -> Iterator[Dataset]:
    """Study Root C-FIND at STUDY, SERIES or IMAGE level: a response dataset per match."""
    level = value_text(identifier, "QueryRetrieveLevel").upper()
    keys = {k: value_text(identifier, k) for k in ("PatientID", "PatientName", "AccessionNumber", "StudyInstanceUID",
                                                   "StudyDate", "ModalitiesInStudy", "SeriesInstanceUID",
                                                   "Modality", "SOPInstanceUID", "StudyDescription")}
    lo, hi = da_range(keys["StudyDate"]) if keys["StudyDate"] else (None, None)
    studies = index.find_studies(svc, study_uid=_exact(keys["StudyInstanceUID"]), patient_id=_exact(keys["PatientID"]),
                                 accession=_exact(keys["AccessionNumber"]), date_from=lo, date_to=hi,
                                 modality=_exact(keys["ModalitiesInStudy"]) or None, limit=1000)
    for st in studies:
        if not (matches(keys["PatientID"], st.patient_id) and matches(keys["AccessionNumber"], st.accession)
                and matches(keys["StudyInstanceUID"], st.study_uid)
                and matches(keys["PatientName"].upper(), st.patient_name.upper())
                and matches(keys["StudyDescription"], st.description)):
            continue
        if level == "STUDY":
            yield _respond(identifier, _study_values(st))
            continue
        for se in index.series_of(svc, st.study_uid):
            if not (matches(keys["SeriesInstanceUID"], se.series_uid) and matches(keys["Modality"], se.modality)):
                continue
            if level == "SERIES":
                yield _respond(identifier, {**_study_values(st), **_series_values(se)})
                continue
            for inst in index.instances_of(svc, series_uid=se.series_uid):
                if matches(keys["SOPInstanceUID"], inst.sop_instance_uid):
                    yield _respond(identifier, {**_study_values(st), **_series_values(se),
                                                "SOPInstanceUID": inst.sop_instance_uid,
                                                "SOPClassUID": inst.sop_class_uid,
                                                "InstanceNumber": inst.instance_number, "Rows": inst.rows,
                                                "Columns": inst.columns, "NumberOfFrames": inst.frames})


def retrieve_uids(svc: Services, identifier: Dataset) -> list[index.InstanceInfo]:
    """The instances a C-MOVE or C-GET asks for (by study, series or SOP Instance UIDs)."""
    level = value_text(identifier, "QueryRetrieveLevel").upper()
    study, series, sops = (value_text(identifier, k) for k in ("StudyInstanceUID", "SeriesInstanceUID",
                                                            "SOPInstanceUID"))
    if level == "IMAGE" and sops:
        return index.instances_of(svc, sop_instance_uids=sops.split("\\"))
    if level == "SERIES" and series:
        return [i for s in series.split("\\") for i in index.instances_of(svc, series_uid=s)]
    if study:
        return [i for s in study.split("\\") for i in index.instances_of(svc, study_uid=s)]
    return []


def _study_values(st: index.StudyInfo) -> dict[str, Any]:
    return {"PatientID": st.patient_id, "PatientName": st.patient_name, "PatientSex": st.patient_sex,
            "PatientBirthDate": _da_text(st.patient_birth_date), "StudyInstanceUID": st.study_uid,
            "AccessionNumber": st.accession, "StudyDate": _da_text(st.study_date), "StudyTime": st.study_time,
            "StudyID": st.study_id, "StudyDescription": st.description,
            "ReferringPhysicianName": st.referring_physician, "ModalitiesInStudy": st.modalities,
            "NumberOfStudyRelatedSeries": st.series_count, "NumberOfStudyRelatedInstances": st.instance_count}


def _series_values(se: index.SeriesInfo) -> dict[str, Any]:
    return {"SeriesInstanceUID": se.series_uid, "Modality": se.modality, "SeriesNumber": se.series_number,
            "SeriesDescription": se.description, "BodyPartExamined": se.body_part,
            "NumberOfSeriesRelatedInstances": se.instance_count}


def _respond(identifier: Dataset, values: dict[str, Any]) -> Dataset:
    """The keys the peer asked for, filled from `values` (unknown keys return empty), plus the level."""
    out = Dataset()
    out.QueryRetrieveLevel = identifier.get("QueryRetrieveLevel", "")
    for elem in identifier:
        kw = elem.keyword
        if not kw or kw in ("QueryRetrieveLevel", "SpecificCharacterSet"):
            continue
        value = values.get(kw)
        if kw == "ModalitiesInStudy" and value:
            value = value.split("\\")
        setattr(out, kw, "" if value is None else value)
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):  # unique keys always returned
        if kw in values and kw not in out:
            setattr(out, kw, values[kw])
    out.SpecificCharacterSet = "ISO_IR 192"
    out.RetrieveAETitle = identifier.get("RetrieveAETitle", "") or ""
    return out


def worklist_query(identifier: Dataset) -> dict[str, str]:
    """The worklist matching keys we honour: modality, accession, patient ID, scheduled date."""
    step = identifier.get("ScheduledProcedureStepSequence")
    item = step[0] if step else Dataset()
    return {"modality": value_text(item, "Modality"), "date": value_text(item, "ScheduledProcedureStepStartDate"),
            "station": value_text(item, "ScheduledStationAETitle"),
            "accession": value_text(identifier, "AccessionNumber"), "patient_id": value_text(identifier, "PatientID")}


def worklist_item(w: WorklistItem, station_ae: str) -> Dataset:
    """One worklist response: patient, requested procedure and its scheduled procedure step."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = w.patient_name
    ds.PatientID = w.patient_id
    ds.PatientBirthDate = _da_text(w.patient_birth_date)
    ds.PatientSex = w.patient_sex if w.patient_sex in ("M", "F", "O") else ""
    ds.AccessionNumber = w.accession
    ds.RequestedProcedureID = w.accession
    ds.RequestedProcedureDescription = w.item_name
    ds.ReferringPhysicianName = w.ordering_doctor
    ds.StudyInstanceUID = ""
    ds.RequestedProcedurePriority = "STAT" if w.priority != "routine" else "ROUTINE"
    step = Dataset()
    step.Modality = w.modality
    step.ScheduledStationAETitle = station_ae
    step.ScheduledStationName = w.station
    step.ScheduledProcedureStepStartDate = w.scheduled_at.strftime("%Y%m%d")
    step.ScheduledProcedureStepStartTime = w.scheduled_at.strftime("%H%M%S")
    step.ScheduledProcedureStepDescription = w.item_name
    step.ScheduledProcedureStepID = w.accession
    step.ScheduledPerformingPhysicianName = ""
    step.ScheduledProtocolCodeSequence = Sequence()
    ds.ScheduledProcedureStepSequence = Sequence([step])
    return ds
