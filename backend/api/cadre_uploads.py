"""Admin API of the cadre-health upload ledger (CD-1): list with state and progress, add an exam by hand,
remove it, retry one that stopped retrying."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import json_body, query_args
from backend.domain.permissions import Perm
from backend.services.cadre_health import ledger

bp = Blueprint("cadre_uploads", __name__)
TAGS = ("admin",)
UploadState = Literal["pending", "running", "done", "failed", "dead", "cancelled"]


class UploadQuery(BaseModel):
    state: UploadState | None = Field(None, description="pending 待上传 / running 上传中 / done 已上传 / failed "
                                                        "失败待重试 / dead 失败（已停止重试） / cancelled 已移除")
    accession: str | None = Field(None, max_length=32, description="检查号")
    before_id: int | None = Field(None, ge=1, le=2**31 - 1, description="翻页：只列出台账ID小于此值的行")
    limit: int = Field(50, ge=1, le=500)


class UploadAdd(BaseModel):
    accession: str = Field(min_length=1, max_length=32, description="要上传的检查的检查号")


@bp.get("/api/admin/cadre-uploads")
@doc("干部保健上传台账（状态、进度、重试次数、原因）与各状态数量", query=UploadQuery, tags=TAGS)
@requires(Perm.ADMIN)
def list_uploads() -> Any:
    q = query_args(UploadQuery)
    rows = ledger.list_uploads(services(), by=actor(), state=q.state, accession=q.accession,
                               before_id=q.before_id, limit=q.limit)
    return jsonify({"uploads": rows, "counts": ledger.counts(services(), by=actor())})


@bp.post("/api/admin/cadre-uploads")
@doc("人工添加一个检查到干部保健上传台账（报告已审核则立即排队上传）", status=201, body=UploadAdd, tags=TAGS)
@requires(Perm.ADMIN)
def add_upload() -> Any:
    return jsonify(ledger.add(services(), json_body(UploadAdd).accession, by=actor())), 201


@bp.post("/api/admin/cadre-uploads/<int:upload_id>/remove")
@doc("从干部保健上传台账移除该检查（已排队的上传不再进行）", tags=TAGS)
@requires(Perm.ADMIN)
def remove_upload(upload_id: int) -> Any:
    return jsonify(ledger.remove(services(), upload_id, by=actor()))


@bp.post("/api/admin/cadre-uploads/<int:upload_id>/retry")
@doc("重新上传一个已停止重试的检查", tags=TAGS)
@requires(Perm.ADMIN)
def retry_upload(upload_id: int) -> Any:
    return jsonify(ledger.retry(services(), upload_id, by=actor()))
