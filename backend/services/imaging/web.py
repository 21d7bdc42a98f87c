"""DICOMweb and the web viewer over the archive (issue 10 items 5-6; QIDO-RS searches are `qido`):
WADO-RS reads of the archived files, rendered frames (cached), STOW-RS through `archive.store_instance`.

Every function serving a person takes `by` (a staff user or an API key), checks `image.read` (or
`image.write` for STOW) and audits the read. The answers are plain values: DICOM JSON dicts (PS3.18 F.2),
bytes and media types; the HTTP shape (multipart, headers) is the API's business."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from io import BytesIO
from typing import Any, Final

import pydicom
from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.pixels.utils import pixel_array
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import Select

from backend.dicom import render as rendering
from backend.dicom.errors import UnreadableFile, UnsupportedFile
from backend.dicom.tags import header_of
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.imaging import HeaderProblem, StoreOutcome, header_problem
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services
from backend.services.imaging import archive, index, qido

AnySelect = Select[*tuple[Any, ...]]
STOW_SOURCE: Final = "STOW-RS"
# PS3.18 Table 10.6.3-3 failure reasons used by STOW-RS.
FAIL_PROCESSING: Final = 0x0110
FAIL_NOT_DICOM: Final = 0xC000
FAIL_WRONG_STUDY: Final = 0xA900
DECODED_CACHE: Final = 48  # decoded frames (a 512x512 CT frame is 1 MB as float32)
RENDERED_CACHE: Final = 512  # encoded pictures (30-150 kB each)

def _can(by: Actor, perm: Perm = Perm.IMAGE_READ) -> None:
    by.require(perm)


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
                           "instances": [i.sop_instance_uid for i in insts],
                           "numbers": [i.instance_number for i in insts]})
        out.append({"uid": s.study_uid, "accession": s.accession, "date": qido.dicom_date(s.study_date),
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


__all__ = ["decoded", "frames", "header_rows", "instance_in", "instances", "metadata", "rendered", "retrieve",
           "spacing", "store", "viewer_studies"]
