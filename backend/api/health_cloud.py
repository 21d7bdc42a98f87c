"""The health cloud's ledger as an API (HC-1..HC-9, issue 12 item 6): every study with its state, the
per-day volumes, and what a person does (retry, skip, add). Admin only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, Field

from backend.api.openapi import ERRORS, doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDate, json_body, query_args
from backend.domain.errors import InvalidInput
from backend.domain.health_cloud import CloudStatus
from backend.domain.permissions import Perm
from backend.services.health_cloud import attachments, ledger, old_links

bp = Blueprint("health_cloud", __name__)
TAGS = ("health-cloud",)
STATUS_HELP = ("pending 待登记 / registered 已登记 / uploading 上传中 / uploaded 已上传 / failed 失败 / "
               "expired 已过期 / skipped 已跳过")


class LedgerQuery(BaseModel):
    status: CloudStatus | None = Field(None, description=STATUS_HELP)
    q: str = Field("", max_length=64, description="检查号、患者 ID 或 Study Instance UID 的一部分")
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    failing: bool = Field(False, description="只看最近一次尝试失败的（含等待自动重试的）")
    limit: int = Field(200, ge=1, le=1000)


class VolumeQuery(BaseModel):
    days: int = Field(14, ge=1, le=92)


class AddBody(BaseModel):
    study_uid: str = Field("", max_length=64)
    accession: str = Field("", max_length=32)


@bp.get("/api/health-cloud/ledger")
@doc("省健康云上传台账：每个检查的登记与上传状态、失败原因与下次重试时间、云端到期时间", query=LedgerQuery, tags=TAGS)
@requires(Perm.ADMIN)
def get_ledger() -> Any:
    q = query_args(LedgerQuery)
    svc, by = services(), actor()
    rows = ledger.list_ledger(svc, by=by, status=q.status, text=q.q, day_from=q.date_from, day_to=q.date_to,
                              failing=q.failing, limit=q.limit)
    return jsonify({"studies": rows, "counts": ledger.counts(svc, by=by)})


@bp.get("/api/health-cloud/volumes")
@doc("省健康云每日上传量（检查数、文件数、字节数）", query=VolumeQuery, tags=TAGS)
@requires(Perm.ADMIN)
def get_volumes() -> Any:
    return jsonify({"days": ledger.daily_volumes(services(), by=actor(), days=query_args(VolumeQuery).days)})


@bp.post("/api/health-cloud/studies/<study_uid>/retry")
@doc("重试失败的检查（已过期的检查为重新上传）", tags=TAGS)
@requires(Perm.ADMIN)
def retry_study(study_uid: str) -> Any:
    return jsonify(ledger.retry(services(), study_uid, by=actor()))


@bp.post("/api/health-cloud/studies/<study_uid>/skip")
@doc("跳过该检查（手动移出上传，规则不会再加入）", tags=TAGS)
@requires(Perm.ADMIN)
def skip_study(study_uid: str) -> Any:
    return jsonify(ledger.skip(services(), study_uid, by=actor()))


@bp.post("/api/health-cloud/studies")
@doc("手动加入上传（按检查号或 Study Instance UID；不受设备类型、患者类别、时间范围限制）", status=201, body=AddBody,
     tags=TAGS)
@requires(Perm.ADMIN)
def add_study() -> Any:
    b = json_body(AddBody)
    return jsonify(ledger.add(services(), study_uid=b.study_uid, accession=b.accession, by=actor())), 201


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# Calls that reach the cloud while the person waits: it may be unreachable (503) or answer nonsense (502).
PARTNER_DOC = {"responses": {"200": {"description": "OK"},
                             **{code: {"description": text, "content": _ERROR} for code, text in ERRORS.items()},
                             "502": {"description": "省健康云应答异常", "content": _ERROR},
                             "503": {"description": "省健康云暂不可用", "content": _ERROR}}}


class ReconcileBody(BaseModel):
    dry_run: bool = Field(True, description="只列出将要变更的内容，不修改台账")


@bp.post("/api/health-cloud/old-registrations/import")
@doc("导入旧接口的登记记录，按 Study UID、检查号、患者与检查日期匹配到检查（HC-8）", tags=TAGS, extra=PARTNER_DOC)
@requires(Perm.ADMIN)
def import_old_registrations() -> Any:
    return jsonify({"counts": old_links.import_old(services(), by=actor())})


@bp.get("/api/health-cloud/old-registrations")
@doc("旧接口登记记录与检查的对应关系（冲突与未匹配在前）", tags=TAGS)
@requires(Perm.ADMIN)
def get_old_registrations() -> Any:
    return jsonify({"links": old_links.list_links(services(), by=actor())})


@bp.post("/api/health-cloud/reconcile")
@doc("与云端列表核对台账（dry_run 时只列出将要变更的内容）", body=ReconcileBody, tags=TAGS, extra=PARTNER_DOC)
@requires(Perm.ADMIN)
def post_reconcile() -> Any:
    return jsonify(old_links.reconcile(services(), by=actor(), dry_run=json_body(ReconcileBody).dry_run))


ATTACH_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                            "description": "JPEG、PNG、BMP、TIFF 或 PDF 文件，可多个"}}}}}}}


@bp.post("/api/exams/<accession>/attachments")
@doc("上传检查附件（JPEG/PNG/BMP/TIFF/PDF 转为 DICOM 并归档到该检查；multipart/form-data，字段 file，可多个）",
     tags=("exams",), extra=ATTACH_DOC)
@requires(Perm.EXAM_OPERATE)
def post_attachments(accession: str) -> Any:
    if not request.mimetype.startswith("multipart/form-data"):
        raise InvalidInput("请求必须是 multipart/form-data，文件放在字段 file 中", code="unsupported_media")
    files = [attachments.Attachment(f.filename or "", f.read()) for f in request.files.getlist("file")]
    result = attachments.attach(services(), accession, files, by=actor())
    if not any(r["ok"] for r in result["results"]):
        reasons = "；".join(f"{r['filename']}：{r['reason']}" for r in result["results"])
        raise InvalidInput(f"没有可归档的文件（{reasons}）", code="attachments_refused", results=result["results"])
    return jsonify(result), 201
