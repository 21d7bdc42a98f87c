"""QIDO-RS over the archive index (issue 10 item 5): SearchForStudies, SearchForSeries and SearchForInstances
as DICOM JSON (PS3.18 F.2), written directly from the index rows. The caller needs `image.read`; every search
is audited as a read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import Select, false, func, or_, select

from backend.db.models import ImagingInstance, ImagingSeries, ImagingStudy
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput
from backend.domain.imaging import da_range
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, transaction

AnySelect = Select[*tuple[Any, ...]]

MAX_LIMIT: Final = 1000  # a larger limit is served as this many (PS3.18 allows the server to cap)
LIMIT_TOP: Final = 100_000  # beyond these a query is refused (the OpenAPI says so)
OFFSET_TOP: Final = 10**9
DEFAULT_LIMIT: Final = 100

# The attributes each QIDO level answers (keyword -> (tag, VR)); `includefield` may name any of them.
STUDY_FIELDS: Final = {
    "SpecificCharacterSet": (0x00080005, "CS"), "StudyDate": (0x00080020, "DA"), "StudyTime": (0x00080030, "TM"),
    "AccessionNumber": (0x00080050, "SH"), "InstanceAvailability": (0x00080056, "CS"),
    "ModalitiesInStudy": (0x00080061, "CS"), "ReferringPhysicianName": (0x00080090, "PN"),
    "RetrieveURL": (0x00081190, "UR"), "StudyDescription": (0x00081030, "LO"), "PatientName": (0x00100010, "PN"),
    "PatientID": (0x00100020, "LO"), "PatientBirthDate": (0x00100030, "DA"), "PatientSex": (0x00100040, "CS"),
    "StudyInstanceUID": (0x0020000D, "UI"), "StudyID": (0x00200010, "SH"),
    "NumberOfStudyRelatedSeries": (0x00201206, "IS"), "NumberOfStudyRelatedInstances": (0x00201208, "IS"),
}
SERIES_FIELDS: Final = {
    "SpecificCharacterSet": (0x00080005, "CS"), "Modality": (0x00080060, "CS"),
    "SeriesDescription": (0x0008103E, "LO"), "RetrieveURL": (0x00081190, "UR"), "BodyPartExamined": (0x00180015, "CS"),
    "StudyInstanceUID": (0x0020000D, "UI"), "SeriesInstanceUID": (0x0020000E, "UI"), "SeriesNumber": (0x00200011, "IS"),
    "NumberOfSeriesRelatedInstances": (0x00201209, "IS"),
}
INSTANCE_FIELDS: Final = {
    "SpecificCharacterSet": (0x00080005, "CS"), "SOPClassUID": (0x00080016, "UI"),
    "SOPInstanceUID": (0x00080018, "UI"), "RetrieveURL": (0x00081190, "UR"),
    "AvailableTransferSyntaxUID": (0x00083002, "UI"), "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"), "InstanceNumber": (0x00200013, "IS"), "NumberOfFrames": (0x00280008, "IS"),
    "Rows": (0x00280010, "US"), "Columns": (0x00280011, "US"),
}
TAG_NAMES: Final = {f"{tag:08X}": kw for fields in (STUDY_FIELDS, SERIES_FIELDS, INSTANCE_FIELDS)
                    for kw, (tag, _) in fields.items()}


def _key(name: str) -> str:
    """A query key as a keyword (`00100020` or `PatientID`)."""
    return TAG_NAMES.get(name.upper(), name)


def _values(raw: str) -> list[str]:
    """A UID list (comma or backslash separated) or one value."""
    return [v for v in raw.replace("\\", ",").split(",") if v]


def _match(col: Any, raw: str) -> Any:
    """Single value, wildcard (`*`, `?`) or UID-list matching of one text attribute; a prefix (`AB*`) is a
    range on the column's index."""
    prefix = raw[:-1]
    if raw.endswith("*") and prefix and not any(c in prefix for c in "*?"):
        return (col >= prefix) & (col < prefix[:-1] + chr(ord(prefix[-1]) + 1))
    if "*" in raw or "?" in raw:
        pattern = raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%").replace("?", "_")
        return col.like(pattern, escape="\\")
    values = _values(raw)
    return col.in_(values) if len(values) > 1 else col == raw


def _modalities(values: Sequence[str]) -> Any:
    """The study lists any of `values` among its modalities (stored as CT\\MR; "/" escapes LIKE)."""
    m = ImagingStudy.modalities
    tests = [or_(m == v, m.like(f"{v}\\%", escape="/"), m.like(f"%\\{v}", escape="/"),
                 m.like(f"%\\{v}\\%", escape="/")) for v in values if v.isalnum()]
    return or_(*tests) if tests else false()


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int
    fields: frozenset[str]


def _paging(params: Mapping[str, Sequence[str]], known: Mapping[str, Any]) -> Paging:
    def number(name: str, default: int, top: int) -> int:
        raw = (params.get(name) or [""])[0]
        if raw == "":
            return default
        if not raw.isdigit() or int(raw) > top:
            raise InvalidInput(f"{name} 必须是 0 到 {top} 的整数", code="invalid_query", field=name)
        return int(raw)

    fields: set[str] = set()
    for raw in params.get("includefield", []):
        for name in _values(raw):
            fields |= set(known) if name == "all" else {_key(name)}
    return Paging(min(number("limit", DEFAULT_LIMIT, LIMIT_TOP), MAX_LIMIT), number("offset", 0, OFFSET_TOP),
                  frozenset(fields))


def _filters(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The attribute match keys of a query string, as keywords (control keys left out)."""
    control = {"limit", "offset", "includefield", "fuzzymatching"}
    return {_key(k): v[0] for k, v in params.items() if k not in control and v and v[0] != ""}


def _dataset(fields: Mapping[str, tuple[int, str]], values: Mapping[str, Any], wanted: Iterable[str]) -> dict[str, Any]:
    """DICOM JSON (PS3.18 F.2) of the wanted attributes, written directly: pydicom's Dataset round trip cost
    more than the query itself on a page of 100 studies."""
    out: dict[str, Any] = {}
    for kw in wanted:
        tag, vr = fields[kw]
        value = values.get(kw)
        items = value if isinstance(value, list) else [] if value is None or value == "" else [value]
        if vr == "PN":
            items = [{"Alphabetic": str(v)} for v in items]
        elif vr in ("IS", "US"):
            items = [int(v) for v in items]
        else:
            items = [str(v) for v in items]
        out[f"{tag:08X}"] = {"vr": vr, "Value": items} if items else {"vr": vr}
    return out


def dicom_date(d: date | None) -> str:
    """A date as DICOM DA text (empty when unknown)."""
    return d.strftime("%Y%m%d") if d else ""


def search_studies(svc: Services, params: Mapping[str, Sequence[str]], *, base: str, by: Actor) -> list[dict[str, Any]]:
    """QIDO-RS SearchForStudies: PatientID, PatientName, AccessionNumber, StudyInstanceUID, StudyDate
    (ranges), ModalitiesInStudy, StudyID; limit/offset; includefield (or `all`)."""
    by.require(Perm.IMAGE_READ)
    page = _paging(params, STUDY_FIELDS)
    q: Select[Any] = select(ImagingStudy)
    columns = {"PatientID": ImagingStudy.patient_id, "PatientName": ImagingStudy.patient_name,
               "AccessionNumber": ImagingStudy.accession, "StudyInstanceUID": ImagingStudy.study_uid,
               "StudyID": ImagingStudy.study_id}
    filters = _filters(params)
    # With a patient, accession or UID key the rows are few: keep the planner on that key's index rather
    # than walking the date index for the ORDER BY (coalesce(x, x) hides the date from index choice).
    day: Any = ImagingStudy.study_date
    if filters.keys() & {"PatientID", "AccessionNumber", "StudyInstanceUID"}:
        day = func.coalesce(ImagingStudy.study_date, ImagingStudy.study_date)
    for kw, raw in filters.items():
        if kw in columns:
            q = q.where(_match(columns[kw], raw))
        elif kw == "StudyDate":
            low, high = da_range(raw)
            q = q.where(day >= low) if low else q
            q = q.where(day <= high) if high else q
        elif kw == "ModalitiesInStudy":  # any of the listed modalities among the study's (backslash-joined)
            q = q.where(_modalities(_values(raw)))
    q = q.order_by(day.desc(), ImagingStudy.id.desc()).limit(page.limit).offset(page.offset)
    wanted = [kw for kw in STUDY_FIELDS if kw in _DEFAULT_STUDY or kw in page.fields]
    with transaction(svc, readonly=True) as tx:
        rows = list(tx.session.scalars(q))
        out = [_dataset(STUDY_FIELDS, {
            "SpecificCharacterSet": "ISO_IR 192", "StudyDate": dicom_date(s.study_date), "StudyTime": s.study_time,
            "AccessionNumber": s.accession, "InstanceAvailability": "ONLINE",
            "ModalitiesInStudy": [m for m in s.modalities.split("\\") if m],
            "ReferringPhysicianName": s.referring_physician, "RetrieveURL": f"{base}/studies/{s.study_uid}",
            "StudyDescription": s.description, "PatientName": s.patient_name, "PatientID": s.patient_id,
            "PatientBirthDate": dicom_date(s.patient_birth_date), "PatientSex": s.patient_sex,
            "StudyInstanceUID": s.study_uid, "StudyID": s.study_id,
            "NumberOfStudyRelatedSeries": s.series_count, "NumberOfStudyRelatedInstances": s.instance_count,
        }, wanted) for s in rows]
    audit.record_read(svc, by, "image_study", "", via="qido", found=len(out))
    return out


_DEFAULT_STUDY: Final = frozenset(STUDY_FIELDS) - {"PatientBirthDate", "StudyDescription"}
_DEFAULT_SERIES: Final = frozenset(SERIES_FIELDS) - {"BodyPartExamined"}
_DEFAULT_INSTANCE: Final = frozenset(INSTANCE_FIELDS) - {"AvailableTransferSyntaxUID"}


def search_series(svc: Services, params: Mapping[str, Sequence[str]], *, base: str, by: Actor,
                  study_uid: str | None = None) -> list[dict[str, Any]]:
    """QIDO-RS SearchForSeries (within a study or across studies): Modality, SeriesInstanceUID,
    SeriesNumber, plus the study keys PatientID, AccessionNumber, StudyDate, StudyInstanceUID."""
    by.require(Perm.IMAGE_READ)
    page = _paging(params, SERIES_FIELDS)
    q: AnySelect = select(ImagingSeries, ImagingStudy.study_uid).join(
        ImagingStudy, ImagingStudy.id == ImagingSeries.study_id)
    if study_uid is not None:
        q = q.where(ImagingStudy.study_uid == study_uid)
    q = _series_filters(q, _filters(params))
    q = q.order_by(ImagingStudy.id, ImagingSeries.series_number, ImagingSeries.id).limit(page.limit).offset(page.offset)
    wanted = [kw for kw in SERIES_FIELDS if kw in _DEFAULT_SERIES or kw in page.fields]
    with transaction(svc, readonly=True) as tx:
        out = [_dataset(SERIES_FIELDS, {
            "SpecificCharacterSet": "ISO_IR 192", "Modality": s.modality, "SeriesDescription": s.description,
            "RetrieveURL": f"{base}/studies/{st}/series/{s.series_uid}", "BodyPartExamined": s.body_part,
            "StudyInstanceUID": st, "SeriesInstanceUID": s.series_uid, "SeriesNumber": s.series_number,
            "NumberOfSeriesRelatedInstances": s.instance_count,
        }, wanted) for s, st in tx.session.execute(q).all()]
    audit.record_read(svc, by, "image_series", study_uid or "", via="qido", found=len(out))
    return out


def _series_filters(q: AnySelect, filters: Mapping[str, str]) -> AnySelect:
    columns = {"Modality": ImagingSeries.modality, "SeriesInstanceUID": ImagingSeries.series_uid,
               "PatientID": ImagingStudy.patient_id, "AccessionNumber": ImagingStudy.accession,
               "StudyInstanceUID": ImagingStudy.study_uid}
    for kw, raw in filters.items():
        if kw in columns:
            q = q.where(_match(columns[kw], raw))
        elif kw == "SeriesNumber" and raw.isdigit():
            q = q.where(ImagingSeries.series_number == int(raw))
        elif kw == "StudyDate":
            low, high = da_range(raw)
            q = q.where(ImagingStudy.study_date >= low) if low else q
            q = q.where(ImagingStudy.study_date <= high) if high else q
    return q


def search_instances(svc: Services, params: Mapping[str, Sequence[str]], *, base: str, by: Actor,
                     study_uid: str | None = None, series_uid: str | None = None) -> list[dict[str, Any]]:
    """QIDO-RS SearchForInstances: SOPInstanceUID, SOPClassUID, InstanceNumber and the series keys."""
    by.require(Perm.IMAGE_READ)
    page = _paging(params, INSTANCE_FIELDS)
    q: AnySelect = (select(ImagingInstance, ImagingStudy.study_uid, ImagingSeries.series_uid)
                    .join(ImagingSeries, ImagingSeries.id == ImagingInstance.series_id)
                    .join(ImagingStudy, ImagingStudy.id == ImagingInstance.study_id))
    if study_uid is not None:
        q = q.where(ImagingStudy.study_uid == study_uid)
    if series_uid is not None:
        q = q.where(ImagingSeries.series_uid == series_uid)
    filters = _filters(params)
    q = _series_filters(q, filters)
    for kw, col in (("SOPInstanceUID", ImagingInstance.sop_instance_uid),
                    ("SOPClassUID", ImagingInstance.sop_class_uid)):
        if kw in filters:
            q = q.where(_match(col, filters[kw]))
    if filters.get("InstanceNumber", "").isdigit():
        q = q.where(ImagingInstance.instance_number == int(filters["InstanceNumber"]))
    q = q.order_by(ImagingSeries.series_number, ImagingSeries.id, ImagingInstance.instance_number,
                   ImagingInstance.id).limit(page.limit).offset(page.offset)
    wanted = [kw for kw in INSTANCE_FIELDS if kw in _DEFAULT_INSTANCE or kw in page.fields]
    with transaction(svc, readonly=True) as tx:
        out = [_dataset(INSTANCE_FIELDS, {
            "SpecificCharacterSet": "ISO_IR 192", "SOPClassUID": i.sop_class_uid, "SOPInstanceUID": i.sop_instance_uid,
            "RetrieveURL": f"{base}/studies/{st}/series/{se}/instances/{i.sop_instance_uid}",
            "AvailableTransferSyntaxUID": i.transfer_syntax, "StudyInstanceUID": st, "SeriesInstanceUID": se,
            "InstanceNumber": i.instance_number, "NumberOfFrames": i.frames, "Rows": i.rows, "Columns": i.columns,
        }, wanted) for i, st, se in tx.session.execute(q).all()]
    audit.record_read(svc, by, "image_instance", series_uid or study_uid or "", via="qido", found=len(out))
    return out
