"""The approved lung-nodule report section as a DICOM SR: TID 1500 Measurement Report (highdicom).

One measurement group (TID 1501) per nodule: tracking identifier (its number, lobe and segment; a UID per
nodule), finding type Nodule in the Lung, measurements long axis, short axis, mean diameter (and volume when
given) in mm / mm3, and qualitative evaluations: nodule type and Lung-RADS category. One more group holds
the exam's stated category (the override's when the doctor changed it). Lung-RADS has no verified standard
code (reference/standards.md 4.3): categories and types use the local scheme 99RADOPS. Text is English codes
meanings; the patient and study come from the study's own images (the evidence).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from io import BytesIO
from typing import Any, Final

import highdicom as hd
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from backend.domain import lung_nodule_section

SCHEME: Final = "99RADOPS"
CATEGORY: Final = Code("LR-CAT", SCHEME, "Lung-RADS category")
NODULE_TYPE: Final = Code("LR-TYPE", SCHEME, "Nodule composition")
SYSTEM: Final = Code("LR-SYS", SCHEME, "Lung nodule classification system")
CT_CHEST: Final = Code("24627-2", "LN", "CT Chest")
TYPE_MEANINGS: Final[Mapping[str, str]] = {
    "solid": "Solid", "part_solid": "Part-solid", "non_solid": "Non-solid (ground glass)",
    "calcified": "Calcified", "fat": "Fat-containing", "juxtapleural": "Juxtapleural/perifissural",
    "airway": "Airway",
}
SERIES_NUMBER: Final = 9001


def person_name(name: str) -> str:
    """A display name as a one-component DICOM PN (the trailing caret says it is one component)."""
    name = (name or "RadOps").replace("^", " ").strip() or "RadOps"
    return f"{name}^"


def _mm(name: Code, value: float) -> hd.sr.Measurement:
    return hd.sr.Measurement(name=name, value=float(value), unit=codes.UCUM.Millimeter)


def _group(label: str, measurements: Sequence[hd.sr.Measurement],
           evaluations: Sequence[hd.sr.QualitativeEvaluation],
           sources: Sequence[hd.sr.SourceImageForMeasurementGroup] = ()) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=label),
        finding_type=codes.SCT.Nodule, finding_category=codes.SCT.MorphologicallyAbnormalStructure,
        finding_sites=[hd.sr.FindingSite(codes.SCT.Lung)], measurements=list(measurements) or None,
        qualitative_evaluations=list(evaluations) or None, source_images=list(sources) or None)


def key_image_sources(key_images: Sequence[Dataset],
                      frames: Mapping[str, int]) -> list[hd.sr.SourceImageForMeasurementGroup]:
    """The doctor's key images as source images of the exam's group (a frame number for multi-frame images)."""
    out = []
    for ds in key_images:
        frame = frames.get(str(ds.SOPInstanceUID), 1)
        multi = int(ds.get("NumberOfFrames", 1) or 1) > 1
        out.append(hd.sr.SourceImageForMeasurementGroup(str(ds.SOPClassUID), str(ds.SOPInstanceUID),
                                                        [frame] if multi else None))
    return out


def _category(value: str) -> hd.sr.QualitativeEvaluation:
    return hd.sr.QualitativeEvaluation(CATEGORY, Code(f"LR-{value}", SCHEME, f"Lung-RADS {value}"))


def measurement_groups(value: Mapping[str, Any], sources: Sequence[hd.sr.SourceImageForMeasurementGroup] = (),
                       ) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    """The nodule groups and the exam's group (with the key images as its sources), from a cleaned
    "lung_nodules" section value."""
    groups = []
    results = (value.get("suggested") or {}).get("nodules") or []
    for i, (n, r) in enumerate(zip(value.get("nodules") or [], results, strict=False), 1):
        label = " ".join(x for x in (f"Nodule {i}", n.get("lobe") or "") if x)
        found = [_mm(codes.SCT.LongAxis, n["long_mm"]), _mm(codes.SCT.ShortAxis, n["short_mm"]),
                 _mm(codes.SCT.Diameter, r["mean_mm"])]
        if n.get("volume_mm3") is not None:
            found.append(hd.sr.Measurement(name=codes.SCT.Volume, value=float(n["volume_mm3"]),
                                           unit=codes.UCUM.CubicMillimeter))
        kind = hd.sr.QualitativeEvaluation(NODULE_TYPE, Code(f"LR-T-{n['type']}", SCHEME, TYPE_MEANINGS[n["type"]]))
        groups.append(_group(label, found, [kind, _category(r["category"])]))
    system = str(value.get("system", ""))
    stated = lung_nodule_section.final_category(value)
    groups.append(_group("Exam assessment", [], [
        _category(stated), hd.sr.QualitativeEvaluation(SYSTEM, Code(system or "lung-rads-v2022", SCHEME,
                                                                     system or "lung-rads-v2022"))], sources))
    return groups


def lung_nodule_sr(evidence: Sequence[Dataset], value: Mapping[str, Any], *, author: str, approver: str,
                   institution: str, department: str, at: datetime, instance_number: int = 1,
                   key_images: Sequence[Dataset] = ()) -> Dataset:
    """A final, verified Comprehensive SR in the evidence's study (its own new series); `key_images` (their
    headers) are referenced as the exam group's source images and recorded as evidence too (a prior study's
    as pertinent other evidence)."""
    frames = {str(k["sop_uid"]): int(k.get("frame") or 1) for k in value.get("key_images") or []}
    sources = key_image_sources(key_images, frames)
    known = {str(ds.SOPInstanceUID) for ds in evidence}
    evidence = [_with_type2(ds) for ds in [*evidence, *(k for k in key_images if str(k.SOPInstanceUID) not in known)]]
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=person_name(author)))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer),
        procedure_reported=CT_CHEST, imaging_measurements=measurement_groups(value, sources))
    sr = hd.sr.ComprehensiveSR(
        evidence=list(evidence), content=report, series_instance_uid=generate_uid(), series_number=SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=instance_number, manufacturer="RadOps",
        institution_name=institution, institutional_department_name=department, is_complete=True, is_final=True,
        is_verified=True, verifying_observer_name=person_name(approver), verifying_organization=institution,
        record_evidence=True)
    sr.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: Chinese names of the patient, the doctors, the hospital
    sr.SeriesDescription = "Lung-RADS structured report"
    sr["ContentDate"].value, sr["ContentTime"].value = at.strftime("%Y%m%d"), at.strftime("%H%M%S")
    return sr


TYPE2: Final = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID",
                 "StudyDate", "StudyTime", "ReferringPhysicianName")


def _with_type2(ds: Dataset) -> Dataset:
    """A copy with the patient and study attributes an SR must carry present (empty when the image had none)."""
    out = copy.deepcopy(ds)
    for keyword in TYPE2:
        if keyword not in out:
            setattr(out, keyword, "")
    return out


def encode(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
