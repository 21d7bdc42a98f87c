"""DICOMweb and the web viewer over the archive (issue 10 items 5-6): QIDO-RS searches in the index,
WADO-RS reads of the archived files, rendered frames (cached), STOW-RS through `archive.store_instance`.

Every function serving a person takes `by` (a staff user or an API key), checks `image.read` (or
`image.write` for STOW) and audits the read. The answers are plain values: DICOM JSON dicts (PS3.18 F.2),
bytes and media types; the HTTP shape (multipart, headers) is the API's business."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any, Final

import pydicom
from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.pixels.utils import pixel_array
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import Select, false, func, or_, select

from backend.db.models import ImagingInstance, ImagingSeries, ImagingStudy
from backend.dicom import render as rendering
from backend.dicom.errors import UnreadableFile, UnsupportedFile
from backend.dicom.tags import header_of
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.imaging import HeaderProblem, StoreOutcome, header_problem
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, transaction
from backend.services.imaging import archive, index

AnySelect = Select[*tuple[Any, ...]]
MAX_LIMIT: Final = 1000  # a larger limit is served as this many (PS3.18 allows the server to cap)
LIMIT_TOP: Final = 100_000  # beyond these a query is refused (the OpenAPI says so)
OFFSET_TOP: Final = 10**9
DEFAULT_LIMIT: Final = 100
STOW_SOURCE: Final = "STOW-RS"
# PS3.18 Table 10.6.3-3 failure reasons used by STOW-RS.
FAIL_PROCESSING: Final = 0x0110
FAIL_NOT_DICOM: Final = 0xC000
FAIL_WRONG_STUDY: Final = 0xA900
DECODED_CACHE: Final = 48  # decoded frames (a 512x512 CT frame is 1 MB as float32)
RENDERED_CACHE: Final = 512  # encoded pictures (30-150 kB each)

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


def _can(by: Actor, perm: Perm = Perm.IMAGE_READ) -> None:
    by.require(perm)


# ---- QIDO-RS ---------------------------------------------------------------------------------------

def _key(name: str) -> str:
    """A query key as a keyword (`00100020` or `PatientID`)."""
    return TAG_NAMES.get(name.upper(), name)


def _values(raw: str) -> list[str]:
    """A UID list (comma or backslash separated) or one value."""
    return [v for v in raw.replace("\\", ",").split(",") if v]


def _date(raw: str) -> date:
    digits = raw.replace("-", "").replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        raise InvalidInput(f"日期格式有误：{raw}", code="invalid_query", field="StudyDate")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise InvalidInput(f"日期格式有误：{raw}", code="invalid_query", field="StudyDate") from exc


def date_range(raw: str) -> tuple[date | None, date | None]:
    """A DA match: `YYYYMMDD`, `A-B`, `A-` or `-B` (PS3.4 C.2.2.2.5)."""
    if "-" in raw.strip("-") or raw.startswith("-") or raw.endswith("-"):
        low, _, high = raw.partition("-")
        return (_date(low) if low else None), (_date(high) if high else None)
    day = _date(raw)
    return day, day


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


def _da(d: date | None) -> str:
    return d.strftime("%Y%m%d") if d else ""


def search_studies(svc: Services, params: Mapping[str, Sequence[str]], *, base: str, by: Actor) -> list[dict[str, Any]]:
    """QIDO-RS SearchForStudies: PatientID, PatientName, AccessionNumber, StudyInstanceUID, StudyDate
    (ranges), ModalitiesInStudy, StudyID; limit/offset; includefield (or `all`)."""
    _can(by)
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
            low, high = date_range(raw)
            q = q.where(day >= low) if low else q
            q = q.where(day <= high) if high else q
        elif kw == "ModalitiesInStudy":  # any of the listed modalities among the study's (backslash-joined)
            q = q.where(_modalities(_values(raw)))
    q = q.order_by(day.desc(), ImagingStudy.id.desc()).limit(page.limit).offset(page.offset)
    wanted = [kw for kw in STUDY_FIELDS if kw in _DEFAULT_STUDY or kw in page.fields]
    with transaction(svc, readonly=True) as tx:
        rows = list(tx.session.scalars(q))
        out = [_dataset(STUDY_FIELDS, {
            "SpecificCharacterSet": "ISO_IR 192", "StudyDate": _da(s.study_date), "StudyTime": s.study_time,
            "AccessionNumber": s.accession, "InstanceAvailability": "ONLINE",
            "ModalitiesInStudy": [m for m in s.modalities.split("\\") if m],
            "ReferringPhysicianName": s.referring_physician, "RetrieveURL": f"{base}/studies/{s.study_uid}",
            "StudyDescription": s.description, "PatientName": s.patient_name, "PatientID": s.patient_id,
            "PatientBirthDate": _da(s.patient_birth_date), "PatientSex": s.patient_sex,
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
    _can(by)
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
            low, high = date_range(raw)
            q = q.where(ImagingStudy.study_date >= low) if low else q
            q = q.where(ImagingStudy.study_date <= high) if high else q
    return q


def search_instances(svc: Services, params: Mapping[str, Sequence[str]], *, base: str, by: Actor,
                     study_uid: str | None = None, series_uid: str | None = None) -> list[dict[str, Any]]:
    """QIDO-RS SearchForInstances: SOPInstanceUID, SOPClassUID, InstanceNumber and the series keys."""
    _can(by)
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


# ---- WADO-RS ---------------------------------------------------------------------------------------

def instances(svc: Services, *, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None,
              by: Actor) -> list[index.InstanceInfo]:
    """The instances named by a WADO-RS path (NotFound when none: an unknown study, series or instance)."""
    _can(by)
    found = index.instances_of(svc, study_uid=study_uid, series_uid=series_uid,
                               sop_instance_uids=[sop_uid] if sop_uid else None)
    if not found:
        raise NotFound("影像不存在", code="instance_not_found")
    return found


def retrieve(svc: Services, found: Sequence[index.InstanceInfo], *, by: Actor,
             transfer_syntax: str | None = None) -> Iterable[tuple[bytes, str]]:
    """The Part-10 files (as stored, or decompressed to Explicit VR Little Endian when asked), one by one
    as the caller iterates (audited at once)."""
    _audit_instances(svc, by, found, "wado")
    return _files(svc, found, transfer_syntax)


def _files(svc: Services, found: Sequence[index.InstanceInfo], transfer_syntax: str | None,
           ) -> Iterable[tuple[bytes, str]]:
    for info in found:
        data = archive.read_instance(svc, info.sop_instance_uid)
        if transfer_syntax == ExplicitVRLittleEndian and info.transfer_syntax != ExplicitVRLittleEndian:
            ds = rendering.read_dataset(data)
            if ds.file_meta.TransferSyntaxUID.is_compressed:
                ds.decompress()
                buf = BytesIO()
                ds.save_as(buf, enforce_file_format=True)
                data = buf.getvalue()
            yield data, str(ds.file_meta.TransferSyntaxUID)
        else:
            yield data, info.transfer_syntax


def _audit_instances(svc: Services, by: Actor, found: Sequence[index.InstanceInfo], via: str) -> None:
    studies = sorted({i.study_uid for i in found})
    for study in studies:
        audit.record_read(svc, by, "image_study", study, via=via,
                          instances=sum(1 for i in found if i.study_uid == study))


def metadata(svc: Services, found: Sequence[index.InstanceInfo], *, base: str, by: Actor) -> list[dict[str, Any]]:
    """WADO-RS metadata: every attribute of each instance as DICOM JSON, bulk data (pixels) by BulkDataURI."""
    _audit_instances(svc, by, found, "metadata")
    out = []
    for info in found:
        ds = _header(svc, info.sop_instance_uid)
        uri = f"{base}/studies/{info.study_uid}/series/{info.series_uid}/instances/{info.sop_instance_uid}"
        out.append(_json(ds, uri, info.frames))
    return out


def _json(ds: Dataset, uri: str, frames: int) -> dict[str, Any]:
    def bulk(elem: DataElement) -> str:
        return f"{uri}/bulk/{elem.tag:08X}"

    out = dict(ds.to_json_dict(bulk_data_threshold=4096, bulk_data_element_handler=bulk))
    out["7FE00010"] = {"vr": "OW", "BulkDataURI": f"{uri}/frames/{','.join(str(n) for n in range(1, frames + 1))}"}
    return out


def _header(svc: Services, sop_uid: str) -> Dataset:
    ds: Dataset = _cached(svc, "imaging.headers", sop_uid, RENDERED_CACHE, lambda: pydicom.dcmread(
        BytesIO(archive.read_instance(svc, sop_uid)), stop_before_pixels=True, force=True))
    return ds


def frames(svc: Services, info: index.InstanceInfo, numbers: Sequence[int], *, by: Actor) -> list[bytes]:
    """WADO-RS frames as native pixel bytes (application/octet-stream; compressed files are decoded)."""
    _can(by)
    data = archive.read_instance(svc, info.sop_instance_uid)
    ds = rendering.read_dataset(data)
    count = rendering.frame_count(ds)
    bad = [n for n in numbers if not 1 <= n <= count]
    if bad or not numbers:
        raise NotFound(f"帧号超出范围（共 {count} 帧）", code="frame_not_found")
    out = []
    for n in numbers:
        try:
            arr = ds.pixel_array if count == 1 else pixel_array(ds, index=n - 1)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError) as exc:
            raise UnsupportedFile("无法解码该影像的像素（传输语法不受支持）", reason=str(exc)[:200]) from exc
        out.append(arr.tobytes())
    audit.record_read(svc, by, "image_frame", info.sop_instance_uid, study=info.study_uid, frames=list(numbers),
                      via="wado")
    return out


# ---- rendered --------------------------------------------------------------------------------------

class _Lru:
    def __init__(self, size: int) -> None:
        self.size, self.lock, self.items = size, threading.Lock(), OrderedDict[Any, Any]()


def _cached(svc: Services, name: str, key: Any, size: int, make: Callable[[], Any]) -> Any:
    lru = svc.cache.get(name)
    if lru is None:
        lru = svc.cache.setdefault(name, _Lru(size))
    with lru.lock:
        if key in lru.items:
            lru.items.move_to_end(key)
            return lru.items[key]
    value = make()
    with lru.lock:
        lru.items[key] = value
        while len(lru.items) > lru.size:
            lru.items.popitem(last=False)
    return value


def decoded(svc: Services, sop_uid: str, number: int) -> rendering.Frame:
    """Frame `number` of an instance in modality values (cached per process)."""
    def make() -> rendering.Frame:
        ds = rendering.read_dataset(archive.read_instance(svc, sop_uid))
        try:
            return rendering.decode_frame(ds, number)
        except IndexError as exc:
            raise NotFound(f"帧号超出范围：{number}", code="frame_not_found") from exc

    return _cached(svc, "imaging.frames", (sop_uid, number), DECODED_CACHE, make)  # type: ignore[no-any-return]


def rendered(svc: Services, info: index.InstanceInfo, number: int, *, by: Actor, fmt: str = "jpeg",
             window: tuple[float, float] | None = None, box: int | None = None, quality: int = 90) -> bytes:
    """A frame as a picture (PNG or JPEG), windowed and optionally fitted in a `box`; cached; audited."""
    _can(by)
    key = (info.sop_instance_uid, info.sha256, number, fmt, window, box, quality)
    try:
        out: bytes = _cached(svc, "imaging.rendered", key, RENDERED_CACHE, lambda: rendering.render(
            decoded(svc, info.sop_instance_uid, number), fmt=fmt, window=window, box=box, quality=quality))
    except UnreadableFile as exc:
        raise UnsupportedFile("影像文件无法读取") from exc
    audit.record_read(svc, by, "image_frame", info.sop_instance_uid, study=info.study_uid, frame=number,
                      via="rendered")
    return out


# ---- STOW-RS ---------------------------------------------------------------------------------------

def store(svc: Services, parts: Sequence[bytes], *, base: str, by: Actor, study_uid: str | None = None,
          ) -> tuple[int, dict[str, Any]]:
    """STOW-RS: each part (a Part-10 file) through the archive's write path. Returns the HTTP status
    (200 all stored, 202 some failed, 409 none stored) and the response dataset as DICOM JSON."""
    _can(by, Perm.IMAGE_WRITE)
    if not parts:
        raise InvalidInput("请求中没有 DICOM 文件", code="no_instances")
    stored: list[Dataset] = []
    failed: list[Dataset] = []
    for data in parts:
        ds, reason = _stow_one(svc, data, study_uid)
        item = Dataset()
        item.ReferencedSOPClassUID = str(ds.get("SOPClassUID", "")) if ds is not None else ""
        item.ReferencedSOPInstanceUID = str(ds.get("SOPInstanceUID", "")) if ds is not None else ""
        if reason is None and ds is not None:
            item.RetrieveURL = (f"{base}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                                f"/instances/{ds.SOPInstanceUID}")
            stored.append(item)
        else:
            item.FailureReason = reason
            failed.append(item)
    answer = Dataset()
    if study_uid:
        answer.RetrieveURL = f"{base}/studies/{study_uid}"
    if stored:
        answer.ReferencedSOPSequence = stored
    if failed:
        answer.FailedSOPSequence = failed
    status = 200 if not failed else 202 if stored else 409
    return status, dict(answer.to_json_dict())


def _stow_one(svc: Services, data: bytes, study_uid: str | None) -> tuple[Dataset | None, int | None]:
    try:
        ds = pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
        ts = str(ds.file_meta.TransferSyntaxUID)
    except Exception:  # not a Part-10 file: pydicom raises many kinds
        return None, FAIL_NOT_DICOM
    header = header_of(ds, transfer_syntax=ts)
    problem = header_problem(header)
    if problem is not None:
        return ds, FAIL_NOT_DICOM if problem is HeaderProblem.NOT_DICOM else FAIL_PROCESSING
    if study_uid and header.study_uid != study_uid:
        return ds, FAIL_WRONG_STUDY
    result = archive.store_instance(svc, header, data, received_from=STOW_SOURCE)
    if result.outcome not in (StoreOutcome.STORED, StoreOutcome.SAME, StoreOutcome.REPLACED, StoreOutcome.KEPT):
        return ds, FAIL_PROCESSING
    return ds, None


# ---- the viewer ------------------------------------------------------------------------------------

def viewer_studies(svc: Services, accession: str, *, by: Actor) -> list[dict[str, Any]]:
    """The study of an accession first, then the patient's other studies (priors), each with its series
    and their instances in order (for the viewer's series list and stack); audited as one read."""
    _can(by)
    if not accession:
        raise NotFound("未找到该检查的影像", code="study_not_found")
    own = index.find_studies(svc, accession=accession, limit=10)
    if not own:
        raise NotFound(f"检查 {accession} 尚无影像", code="study_not_found")
    patient = own[0].patient_id
    others = ([s for s in index.find_studies(svc, patient_id=patient, limit=20) if s.accession != accession]
              if patient else [])
    out = []
    for s in [*own, *others]:
        series = []
        for se in index.series_of(svc, s.study_uid):
            insts = index.instances_of(svc, study_uid=s.study_uid, series_uid=se.series_uid)
            series.append({"uid": se.series_uid, "number": se.series_number, "modality": se.modality,
                           "description": se.description, "count": len(insts),
                           "instances": [i.sop_instance_uid for i in insts]})
        out.append({"uid": s.study_uid, "accession": s.accession, "date": _da(s.study_date),
                    "description": s.description, "current": s.accession == accession, "series": series})
    audit.record_read(svc, by, "image_viewer", accession, studies=[s["uid"] for s in out])
    return out


def header_rows(svc: Services, info: index.InstanceInfo, *, by: Actor) -> list[tuple[str, str, str]]:
    """The DICOM header of an instance as (tag, keyword, value) rows, pixel data left out (audited)."""
    _can(by)
    ds = _header(svc, info.sop_instance_uid)
    rows = [(f"({e.tag.group:04X},{e.tag.elem:04X})", e.keyword or e.name, _show(e)) for e in ds.file_meta]
    rows += [(f"({e.tag.group:04X},{e.tag.elem:04X})", e.keyword or e.name, _show(e)) for e in ds]
    audit.record_read(svc, by, "image_header", info.sop_instance_uid, study=info.study_uid)
    return rows


def _show(e: DataElement) -> str:
    if e.VR == "SQ":
        return f"<{len(e.value)} 项>"
    if e.VR in ("OB", "OW", "OF", "OD", "OL", "UN"):
        return f"<{len(e.value or b'')} 字节>"
    return str(e.value)[:200]


def instance_in(svc: Services, study_uid: str, series_uid: str, sop_uid: str, *, by: Actor) -> index.InstanceInfo:
    return instances(svc, study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid, by=by)[0]


def spacing(svc: Services, sop_uid: str) -> tuple[float, float] | None:
    return decoded(svc, sop_uid, 1).spacing


__all__ = ["date_range", "decoded", "frames", "header_rows", "instance_in", "instances",
           "metadata", "rendered", "retrieve", "search_instances", "search_series",
           "search_studies", "spacing", "store", "viewer_studies"]
