"""Our cadre-health records to and from the wire (JSON, camelCase, `{"code", "message", "data"}` envelope)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from backend.ports.cadre_health import CadreReport, CoveredPerson, ImageFileInfo, PartnerReceipt

OK = "0"
# Business codes the system answers besides OK (docs/cadre_health_interface.md).
CODES = {"1001": "参数错误", "1002": "非保健对象", "1003": "关联的影像文件信息尚未上传", "5000": "系统繁忙"}


def person_from_wire(d: dict[str, Any]) -> CoveredPerson:
    valid = d.get("validTo")
    return CoveredPerson(id_no=str(d["idCardNo"]).upper(), name=str(d.get("name", "")),
                         card_no=str(d.get("healthCardNo", "")), level=str(d.get("careLevel", "")),
                         valid_until=date.fromisoformat(valid) if valid else None)


def person_to_wire(p: CoveredPerson) -> dict[str, Any]:
    return {"idCardNo": p.id_no, "name": p.name, "healthCardNo": p.card_no, "careLevel": p.level,
            "validTo": p.valid_until.isoformat() if p.valid_until else None}


def file_info_to_wire(info: ImageFileInfo, *, org_code: str) -> dict[str, Any]:
    return {"orgCode": org_code, "fileId": info.file_id, "accessionNo": info.accession,
            "idCardNo": info.patient_id_no, "studyInstanceUid": info.study_uid,
            "seriesInstanceUid": info.series_uid, "sopInstanceUid": info.sop_uid, "bucket": info.bucket,
            "objectKey": info.object_key, "fileSize": info.size, "checksumType": "SHA-256",
            "checksum": info.sha256}


def report_to_wire(r: CadreReport, *, org_code: str) -> dict[str, Any]:
    return {"orgCode": org_code, "reportId": r.report_id, "version": r.version, "amended": r.amended,
            "accessionNo": r.accession, "idCardNo": r.patient_id_no, "studyInstanceUid": r.study_uid,
            "findings": r.findings, "impression": r.impression, "structured": dict(r.structured),
            "pdfObjectKey": r.pdf_object_key, "approvedAt": _iso(r.approved_at), "approver": r.approver,
            "fileIds": list(r.file_ids)}


def receipt_from_wire(data: dict[str, Any]) -> PartnerReceipt:
    return PartnerReceipt(record_id=str(data["recordId"]), duplicate=bool(data.get("duplicate", False)))


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment.isoformat()
