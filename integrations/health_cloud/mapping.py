"""Between our records (backend.ports) and the cloud's wire JSON (docs/health_cloud_interface.md).

Readers raise KeyError, ValueError or TypeError on an answer that lacks what the interface promises; the
client turns those into PartnerProtocolError with the raw answer kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from backend.ports.health_cloud import (
    CloudFile,
    CloudRegistration,
    CloudStoredStudy,
    CloudStudy,
    CloudUpload,
    OldCloudRegistration,
)


def registration_body(study: CloudStudy, *, hospital_code: str) -> dict[str, Any]:
    """The body of POST /api/v1/studies/register (注册入库)."""
    return {
        "hospitalCode": hospital_code,
        "patient": {"patientId": study.patient_id, "name": study.patient_name, "sex": study.patient_sex,
                    "birthDate": _day(study.birth_date), "idCardNo": study.id_number},
        "study": {"accessionNumber": study.accession, "studyInstanceUid": study.study_uid,
                  "modality": study.modality, "studyDate": _day(study.study_date),
                  "seriesCount": study.series_count, "imageCount": study.image_count,
                  "totalBytes": study.total_bytes, "oldCloudId": study.old_cloud_id},
        "files": [{"sopInstanceUid": f.sop_instance_uid, "seriesInstanceUid": f.series_instance_uid,
                   "size": f.size, "sha256": f.sha256} for f in study.files],
    }


def registration_from(data: dict[str, Any], *, duplicate: bool = False) -> CloudRegistration:
    reg_id = str(data["registrationId"])
    if not reg_id:
        raise ValueError("empty registrationId")
    return CloudRegistration(registration_id=reg_id, duplicate=duplicate or bool(data.get("duplicate")),
                             old_cloud_id=str(data.get("linkedOldCloudId") or ""))


def init_body(registration_id: str, files: Sequence[CloudFile], *, chunk_size: int) -> dict[str, Any]:
    """The body of POST /api/v1/files/init: one entry per file, keyed by its idempotency key."""
    return {"registrationId": registration_id, "chunkSize": chunk_size,
            "files": [{"idempotencyKey": f.idempotency_key, "sopInstanceUid": f.sop_instance_uid,
                       "size": f.size, "sha256": f.sha256} for f in files]}


def uploads_from(data: dict[str, Any], files: Sequence[CloudFile]) -> list[CloudUpload]:
    """The cloud's answer to init, in the order of `files` (matched by idempotency key)."""
    by_key = {str(u["idempotencyKey"]): u for u in data["uploads"]}
    out = []
    for f in files:
        u = by_key[f.idempotency_key]
        acknowledged = int(u["acknowledgedOffset"])
        if not 0 <= acknowledged <= f.size:
            raise ValueError(f"acknowledgedOffset {acknowledged} outside the file")
        out.append(CloudUpload(upload_id=str(u["uploadId"]), file=f, acknowledged=acknowledged,
                               complete=u["state"] == "completed", chunk_size=int(u["chunkSize"])))
    return out


def stored_study_from(item: dict[str, Any]) -> CloudStoredStudy:
    return CloudStoredStudy(
        registration_id=str(item["registrationId"]), study_uid=str(item["studyInstanceUid"]),
        accession=str(item.get("accessionNumber") or ""), study_date=_parse_day(item.get("studyDate")),
        registered_at=_parse_time(item.get("registeredAt")), expires_at=_parse_time(item.get("expireAt")),
        files_received=int(item.get("receivedFiles") or 0), image_count=int(item.get("imageCount") or 0),
        old_cloud_id=str(item.get("oldCloudId") or ""))


def old_registration_from(item: dict[str, Any]) -> OldCloudRegistration:
    return OldCloudRegistration(
        old_cloud_id=str(item["oldCloudId"]), accession=str(item.get("accessionNumber") or ""),
        study_uid=str(item.get("studyInstanceUid") or ""), patient_id=str(item.get("patientId") or ""),
        patient_name=str(item.get("patientName") or ""), study_date=_parse_day(item.get("studyDate")),
        registered_at=_parse_time(item.get("registeredAt")))


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _parse_day(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time without offset: {value}")
    return parsed
