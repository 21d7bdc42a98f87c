"""What the emulated cloud keeps: registrations, uploads, stored files, the old interface's records, its
own clock-driven three-month window. Thread-safe; business refusals raise CloudError(code, message)."""

from __future__ import annotations

import calendar
import hashlib
import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

MAX_CHUNK = 8 * 2**20
MIN_CHUNK = 64 * 2**10


class CloudError(Exception):
    """A refusal the cloud answers with a business code and a Chinese message."""

    def __init__(self, code: str, message: str, *, http: int = 200, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message, self.http, self.data = code, message, http, data


@dataclass
class Study:
    registration_id: str
    hospital_code: str
    study_uid: str
    accession: str
    patient_id: str
    modality: str
    study_date: date
    registered_at: datetime
    manifest: dict[str, tuple[int, str]]
    series_count: int
    old_cloud_id: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # SOP Instance UID -> stored bytes
    keys: set[str] = field(default_factory=set)  # idempotency keys of the files acknowledged


@dataclass
class Upload:
    upload_id: str
    study_uid: str
    key: str
    sop_instance_uid: str
    size: int
    sha256: str
    chunk_size: int
    received: bytearray = field(default_factory=bytearray)
    hasher: Any = field(default_factory=hashlib.sha256)
    state: str = "uploading"


@dataclass
class LegacyRecord:
    old_cloud_id: str
    hospital_code: str
    accession: str
    study_uid: str
    patient_id: str
    patient_name: str
    study_date: date
    registered_at: datetime
    linked_registration_id: str = ""


def window_end(study_date: date, *, months: int, tz: tzinfo) -> datetime:
    """The first instant the cloud no longer keeps a study of `study_date`: 00:00 (platform time) after the
    same day `months` later, or after that month's last day when it is shorter."""
    year, month0 = divmod(study_date.year * 12 + study_date.month - 1 + months, 12)
    last = min(study_date.day, calendar.monthrange(year, month0 + 1)[1])
    return datetime(year, month0 + 1, last, tzinfo=tz) + timedelta(days=1)


class CloudState:
    """The emulated platform's data; every public method takes the lock."""

    def __init__(self, *, tz: tzinfo, window_months: int = 3, store_bytes: bool = True) -> None:
        self.tz, self.window_months, self.store_bytes = tz, window_months, store_bytes
        self.lock = threading.RLock()
        self.studies: dict[tuple[str, str], Study] = {}
        self.uploads: dict[str, Upload] = {}
        self.uploads_by_key: dict[str, Upload] = {}
        self.legacy: dict[str, LegacyRecord] = {}
        self.dropped: list[str] = []
        # Bounded, for tests and the demo's state page: (upload id, offset, length, stored|already|dropped).
        self.chunk_log: deque[tuple[str, int, int, str]] = deque(maxlen=100_000)
        self._ids = itertools.count(1)

    # --- registration ------------------------------------------------------------------------------

    def register(self, body: dict[str, Any], *, now: datetime, duplicate_as_error: bool) -> dict[str, Any]:
        hospital, patient, study, files = _registration_parts(body)
        uid, day = str(study["studyInstanceUid"]), date.fromisoformat(str(study["studyDate"]))
        if window_end(day, months=self.window_months, tz=self.tz) <= now:
            raise CloudError("20003", f"检查日期超出云端保存期限（{self.window_months}个月）")
        manifest = {str(f["sopInstanceUid"]): (int(f["size"]), str(f["sha256"])) for f in files}
        with self.lock:
            existing = self.studies.get((hospital, uid))
            if existing is not None:
                if duplicate_as_error:
                    raise CloudError("20001", "该检查已登记，请勿重复登记")
                existing.manifest.update(manifest)
                existing.series_count = max(existing.series_count, int(study.get("seriesCount") or 0))
                return self._registered(existing, duplicate=True)
            old_id = str(study.get("oldCloudId") or "")
            if old_id and old_id not in self.legacy:
                raise CloudError("20004", "旧平台登记号不存在")
            reg = Study(registration_id=f"HC{now.astimezone(self.tz):%Y%m%d}{next(self._ids):06d}",
                        hospital_code=hospital, study_uid=uid, accession=str(study["accessionNumber"]),
                        patient_id=str(patient["patientId"]), modality=str(study.get("modality") or ""),
                        study_date=day, registered_at=now, manifest=manifest,
                        series_count=int(study.get("seriesCount") or 0), old_cloud_id=old_id)
            if old_id:
                self.legacy[old_id].linked_registration_id = reg.registration_id
            self.studies[(hospital, uid)] = reg
            return self._registered(reg, duplicate=False)

    def _registered(self, study: Study, *, duplicate: bool) -> dict[str, Any]:
        return {"registrationId": study.registration_id, "duplicate": duplicate,
                "linkedOldCloudId": study.old_cloud_id}

    def study_item(self, study: Study) -> dict[str, Any]:
        return {"registrationId": study.registration_id, "studyInstanceUid": study.study_uid,
                "accessionNumber": study.accession, "modality": study.modality,
                "studyDate": study.study_date.isoformat(),
                "registeredAt": study.registered_at.astimezone(self.tz).isoformat(timespec="seconds"),
                "expireAt": window_end(study.study_date, months=self.window_months, tz=self.tz).isoformat(),
                "imageCount": len(study.manifest), "receivedFiles": len(study.files),
                "oldCloudId": study.old_cloud_id}

    def find(self, hospital: str | None, uid: str) -> Study:
        with self.lock:
            for (h, u), study in self.studies.items():
                if u == uid and hospital in (None, h):
                    return study
        raise CloudError("40401", "未找到该检查", http=404)

    def by_registration(self, registration_id: str) -> Study:
        for study in self.studies.values():
            if study.registration_id == registration_id:
                return study
        raise CloudError("40402", "登记号不存在", http=404)

    def purge(self, now: datetime) -> None:
        """Drop every study past the window, its files and its uploads (the platform's retention job)."""
        with self.lock:
            gone = [k for k, s in self.studies.items()
                    if window_end(s.study_date, months=self.window_months, tz=self.tz) <= now]
            for key in gone:
                study = self.studies.pop(key)
                self.dropped.append(study.study_uid)
                for up in [u for u in self.uploads.values() if u.study_uid == study.study_uid]:
                    del self.uploads[up.upload_id]
                    self.uploads_by_key.pop(up.key, None)

    # --- uploads -----------------------------------------------------------------------------------

    def init_uploads(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            study = self.by_registration(str(body.get("registrationId") or ""))
            chunk = max(MIN_CHUNK, min(MAX_CHUNK, int(body.get("chunkSize") or MAX_CHUNK)))
            return {"uploads": [self._init_one(study, f, chunk) for f in _list(body, "files")]}

    def _init_one(self, study: Study, f: dict[str, Any], chunk: int) -> dict[str, Any]:
        key, sop, size, sha = str(f["idempotencyKey"]), str(f["sopInstanceUid"]), int(f["size"]), str(f["sha256"])
        if study.manifest.get(sop) != (size, sha):
            raise CloudError("30001", "文件不在登记清单中（SOP 实例、大小或校验值不符）", http=400)
        upload = self.uploads_by_key.get(key)
        if upload is not None and (upload.sha256 != sha or upload.size != size):
            raise CloudError("30005", "幂等键已用于另一个文件", http=409)
        if upload is None:
            upload = Upload(upload_id=f"UP{next(self._ids):08d}", study_uid=study.study_uid, key=key,
                            sop_instance_uid=sop, size=size, sha256=sha, chunk_size=chunk,
                            state="completed" if key in study.keys else "uploading")
            self.uploads[upload.upload_id], self.uploads_by_key[key] = upload, upload
        return self.upload_item(upload)

    def upload_item(self, up: Upload) -> dict[str, Any]:
        return {"idempotencyKey": up.key, "uploadId": up.upload_id, "state": up.state, "size": up.size,
                "acknowledgedOffset": up.size if up.state == "completed" else len(up.received),
                "chunkSize": up.chunk_size}

    def upload(self, upload_id: str) -> Upload:
        up = self.uploads.get(upload_id)
        if up is None:
            raise CloudError("40403", "上传任务不存在或已过期", http=404)
        return up

    def put_chunk(self, upload_id: str, *, offset: int, final: bool, body: bytes, body_sha: str) -> dict[str, Any]:
        with self.lock:
            up = self.upload(upload_id)
            ack = up.size if up.state == "completed" else len(up.received)
            if up.state == "completed" or (offset + len(body) <= ack and not final):
                self.chunk_log.append((upload_id, offset, len(body), "already"))
                return self.upload_item(up)  # a repeat of what is acknowledged: never counted twice
            if offset != ack:
                raise CloudError("30003", "分片偏移量与已确认的位置不符", http=409,
                                 data={"acknowledgedOffset": ack})
            if len(body) > up.chunk_size or offset + len(body) > up.size:
                raise CloudError("30006", "分片大小超出约定", http=400)
            self.chunk_log.append((upload_id, offset, len(body), "stored"))
            if offset == 0 and final:  # the whole file in one chunk: its checksum is the body's, no copy
                self._finish(up, whole_sha=body_sha, data=body)
                return self.upload_item(up)
            up.received.extend(body)
            up.hasher.update(body)
            if final:
                self._finish(up, whole_sha=up.hasher.hexdigest(), data=up.received)
            return self.upload_item(up)

    def complete(self, upload_id: str) -> dict[str, Any]:
        with self.lock:
            up = self.upload(upload_id)
            if up.state != "completed":
                self._finish(up, whole_sha=hashlib.sha256(up.received).hexdigest(), data=up.received)
            return self.upload_item(up)

    def _finish(self, up: Upload, *, whole_sha: str, data: bytes | bytearray) -> None:
        if len(data) != up.size:
            raise CloudError("30008", "文件尚未传完，不能完成上传", http=409,
                             data={"acknowledgedOffset": len(data)})
        if whole_sha != up.sha256:
            up.received, up.hasher = bytearray(), hashlib.sha256()
            raise CloudError("30004", "整个文件的校验值不符，请重新上传", http=400)
        study = next(s for s in self.studies.values() if s.study_uid == up.study_uid)
        study.files[up.sop_instance_uid] = bytes(data) if self.store_bytes else b""
        study.keys.add(up.key)
        up.received, up.state = bytearray(), "completed"


def _registration_parts(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any], list[Any]]:
    try:
        hospital, patient, study = str(body["hospitalCode"]), body["patient"], body["study"]
        missing = [k for k in ("studyInstanceUid", "accessionNumber", "studyDate") if not study.get(k)]
        if not hospital or not patient.get("patientId") or missing:
            raise CloudError("10001", f"参数缺失：{'、'.join(missing) or 'hospitalCode/patientId'}", http=400)
        files = _list(body, "files")
        for f in files:
            if not f.get("sopInstanceUid") or len(str(f.get("sha256") or "")) != 64 or int(f["size"]) < 0:
                raise CloudError("10001", "文件清单不完整（SOP 实例、大小、SHA-256）", http=400)
        return hospital, patient, study, files
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CloudError("10001", "请求格式不正确", http=400) from exc


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list):
        raise CloudError("10001", f"参数缺失：{name}", http=400)
    return value
