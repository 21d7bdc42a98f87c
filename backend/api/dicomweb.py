"""DICOMweb under /dicomweb (PS3.18): QIDO-RS, WADO-RS (instances, series, metadata, frames, rendered),
STOW-RS; a staff session or an X-API-Key with `image.read` (`image.write` to store). Answers DICOM JSON
(application/dicom+json) and multipart/related; errors are the API's JSON errors."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, Field
from pydicom.uid import ExplicitVRLittleEndian

from backend.api.openapi import ERRORS, doc
from backend.api.security import actor, requires, services
from backend.domain.errors import InvalidInput
from backend.domain.permissions import Perm
from backend.services.imaging import qido, web

bp = Blueprint("dicomweb", __name__, url_prefix="/dicomweb")
DICOM_JSON = "application/dicom+json"
UID = "<string(maxlength=64):{name}>"
STUDY, SERIES, SOP = UID.format(name="study"), UID.format(name="series"), UID.format(name="sop")
TAGS = ("dicomweb",)


class Qido(BaseModel):
    """QIDO-RS query keys (attribute keywords or tags such as 00100020 are accepted too)."""

    PatientID: str | None = Field(None, max_length=64, description="患者 ID，可用 * ? 通配")
    PatientName: str | None = Field(None, max_length=128)
    AccessionNumber: str | None = Field(None, max_length=64, description="检查号")
    StudyInstanceUID: str | None = Field(None, max_length=1024, description="一个或多个（逗号分隔）")
    StudyDate: str | None = Field(None, max_length=17, description="YYYYMMDD、A-B、A- 或 -B")
    ModalitiesInStudy: str | None = Field(None, max_length=64)
    Modality: str | None = Field(None, max_length=16)
    limit: int | None = Field(None, ge=0, le=100000)
    offset: int | None = Field(None, ge=0, le=10**9)
    includefield: str | None = Field(None, max_length=1024, description="附加返回的属性，或 all")


class Rendered(BaseModel):
    window: str | None = Field(None, max_length=64, description="窗位,窗宽[,linear]，如 -600,1500")
    viewport: str | None = Field(None, max_length=32, description="宽,高（缩略图）")
    quality: int | None = Field(None, ge=1, le=100)


def _responses(ok: dict[str, Any]) -> dict[str, Any]:
    """The success answers of a DICOMweb route plus the app-wide JSON errors."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {**ok, **{code: {"description": text, "content": error} for code, text in ERRORS.items()}}


def _dicom_json_response(desc: str) -> dict[str, Any]:
    return {"responses": _responses({"200": {"description": desc, "content": {DICOM_JSON: {"schema": {
        "type": "array", "items": {"type": "object"}}}}}})}


BINARY = {"schema": {"type": "string", "format": "binary"}}
MULTIPART = _responses({"200": {"description": "multipart/related", "content": {"multipart/related": BINARY}}})
IMAGES = _responses({"200": {"description": "图像", "content": {"image/jpeg": BINARY, "image/png": BINARY}}})


def _base() -> str:
    return request.host_url.rstrip("/") + "/dicomweb"


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, content_type=DICOM_JSON)


def _params() -> dict[str, list[str]]:
    """The query string, its documented keys checked against `Qido` (lengths, ranges: a 400 when wrong)."""
    Qido.model_validate({k: request.args[k] for k in request.args if k in Qido.model_fields})
    return {k: request.args.getlist(k) for k in request.args}


def _multipart(parts: Iterable[tuple[bytes, str]], kind: str) -> Response:
    boundary = uuid.uuid4().hex

    def body() -> Iterable[bytes]:
        for data, content_type in parts:
            yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    # Streamed part by part: a whole study is never held in memory at once.
    return Response(body(), content_type=f'multipart/related; type="{kind}"; boundary={boundary}')


def _wants_explicit() -> bool:
    accept = request.headers.get("Accept", "")
    return f"transfer-syntax={ExplicitVRLittleEndian}" in accept.replace('"', "")


def _wado(found: list[Any]) -> Response:
    data = web.retrieve(services(), found, by=actor(),
                        transfer_syntax=ExplicitVRLittleEndian if _wants_explicit() else None)
    return _multipart(((d, f"application/dicom; transfer-syntax={ts}") for d, ts in data), "application/dicom")


# ---- QIDO-RS ----

@bp.get("/studies")
@doc("QIDO-RS 检索研究（PatientID、AccessionNumber、StudyDate 范围、ModalitiesInStudy 等）", query=Qido,
     tags=TAGS, extra=_dicom_json_response("研究（DICOM JSON）"))
@requires(Perm.IMAGE_READ)
def search_studies() -> Any:
    return _json(qido.search_studies(services(), _params(), base=_base(), by=actor()))


@bp.get("/series")
@doc("QIDO-RS 检索序列（全部研究）", query=Qido, tags=TAGS, extra=_dicom_json_response("序列"))
@requires(Perm.IMAGE_READ)
def search_all_series() -> Any:
    return _json(qido.search_series(services(), _params(), base=_base(), by=actor()))


@bp.get(f"/studies/{STUDY}/series")
@doc("QIDO-RS 检索研究内的序列", query=Qido, tags=TAGS, extra=_dicom_json_response("序列"))
@requires(Perm.IMAGE_READ)
def search_series(study: str) -> Any:
    return _json(qido.search_series(services(), _params(), base=_base(), by=actor(), study_uid=study))


@bp.get("/instances")
@doc("QIDO-RS 检索实例（全部研究）", query=Qido, tags=TAGS, extra=_dicom_json_response("实例"))
@requires(Perm.IMAGE_READ)
def search_all_instances() -> Any:
    return _json(qido.search_instances(services(), _params(), base=_base(), by=actor()))


@bp.get(f"/studies/{STUDY}/instances")
@doc("QIDO-RS 检索研究内的实例", query=Qido, tags=TAGS, extra=_dicom_json_response("实例"))
@requires(Perm.IMAGE_READ)
def search_study_instances(study: str) -> Any:
    return _json(qido.search_instances(services(), _params(), base=_base(), by=actor(), study_uid=study))


@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances")
@doc("QIDO-RS 检索序列内的实例", query=Qido, tags=TAGS, extra=_dicom_json_response("实例"))
@requires(Perm.IMAGE_READ)
def search_series_instances(study: str, series: str) -> Any:
    return _json(qido.search_instances(services(), _params(), base=_base(), by=actor(), study_uid=study,
                                      series_uid=series))


# ---- WADO-RS ----

@bp.get(f"/studies/{STUDY}")
@doc("WADO-RS 获取整个研究（multipart/related; type=application/dicom）", tags=TAGS, extra={"responses": MULTIPART})
@requires(Perm.IMAGE_READ)
def retrieve_study(study: str) -> Any:
    return _wado(web.instances(services(), study_uid=study, by=actor()))


@bp.get(f"/studies/{STUDY}/series/{SERIES}")
@doc("WADO-RS 获取序列", tags=TAGS, extra={"responses": MULTIPART})
@requires(Perm.IMAGE_READ)
def retrieve_series(study: str, series: str) -> Any:
    return _wado(web.instances(services(), study_uid=study, series_uid=series, by=actor()))


@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}")
@doc("WADO-RS 获取实例", tags=TAGS, extra={"responses": MULTIPART})
@requires(Perm.IMAGE_READ)
def retrieve_instance(study: str, series: str, sop: str) -> Any:
    return _wado(web.instances(services(), study_uid=study, series_uid=series, sop_uid=sop, by=actor()))


@bp.get(f"/studies/{STUDY}/metadata")
@doc("WADO-RS 研究元数据（DICOM JSON，像素以 BulkDataURI 给出）", tags=TAGS, extra=_dicom_json_response("元数据"))
@requires(Perm.IMAGE_READ)
def study_metadata(study: str) -> Any:
    found = web.instances(services(), study_uid=study, by=actor())
    return _json(web.metadata(services(), found, base=_base(), by=actor()))


@bp.get(f"/studies/{STUDY}/series/{SERIES}/metadata")
@doc("WADO-RS 序列元数据", tags=TAGS, extra=_dicom_json_response("元数据"))
@requires(Perm.IMAGE_READ)
def series_metadata(study: str, series: str) -> Any:
    found = web.instances(services(), study_uid=study, series_uid=series, by=actor())
    return _json(web.metadata(services(), found, base=_base(), by=actor()))


@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}/metadata")
@doc("WADO-RS 实例元数据", tags=TAGS, extra=_dicom_json_response("元数据"))
@requires(Perm.IMAGE_READ)
def instance_metadata(study: str, series: str, sop: str) -> Any:
    found = web.instances(services(), study_uid=study, series_uid=series, sop_uid=sop, by=actor())
    return _json(web.metadata(services(), found, base=_base(), by=actor()))


def _frame_numbers(raw: str) -> list[int]:
    if not re.fullmatch(r"\d{1,6}(,\d{1,6}){0,999}", raw):
        raise InvalidInput("帧号列表格式有误（如 1,2,3）", code="invalid_frames")
    return [int(n) for n in raw.split(",")]


@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}/frames/<string(maxlength=8000):frames>")
@doc("WADO-RS 获取帧（未压缩像素，multipart/related; type=application/octet-stream）", tags=TAGS,
     extra={"responses": MULTIPART})
@requires(Perm.IMAGE_READ)
def retrieve_frames(study: str, series: str, sop: str, frames: str) -> Any:
    numbers = _frame_numbers(frames)
    info = web.instance_in(services(), study, series, sop, by=actor())
    data = web.frames(services(), info, numbers, by=actor())
    return _multipart(((d, "application/octet-stream") for d in data), "application/octet-stream")


def _render(study: str, series: str, sop: str, frame: int) -> Response:
    Rendered.model_validate({k: request.args[k] for k in request.args if k in Rendered.model_fields})
    window = _window(request.args.get("window", ""))
    box = _viewport(request.args.get("viewport", ""))
    quality = request.args.get("quality", "90")
    if not quality.isdigit() or not 1 <= int(quality) <= 100:
        raise InvalidInput("quality 必须是 1-100", code="invalid_query", field="quality")
    accept = request.headers.get("Accept", "")
    fmt = "png" if "image/png" in accept and "image/jpeg" not in accept else "jpeg"
    info = web.instance_in(services(), study, series, sop, by=actor())
    data = web.rendered(services(), info, frame, by=actor(), fmt=fmt, window=window, box=box, quality=int(quality))
    response = Response(data, content_type=f"image/{fmt}")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _window(raw: str) -> tuple[float, float] | None:
    if not raw:
        return None
    parts = raw.split(",")
    try:
        centre, width = float(parts[0]), float(parts[1])
    except (ValueError, IndexError) as exc:
        raise InvalidInput("window 格式有误（窗位,窗宽）", code="invalid_query", field="window") from exc
    if not (-1e6 < centre < 1e6 and 0 < width < 1e6) or (len(parts) > 2 and parts[2].lower() != "linear"):
        raise InvalidInput("window 超出范围或函数不受支持", code="invalid_query", field="window")
    return centre, width


def _viewport(raw: str) -> int | None:
    if not raw:
        return None
    parts = raw.split(",")
    if not all(p.isdigit() and 0 < int(p) <= 4096 for p in parts[:2]) or len(parts) > 4:
        raise InvalidInput("viewport 格式有误（宽,高）", code="invalid_query", field="viewport")
    return max(int(p) for p in parts[:2])


@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}/rendered")
@doc("WADO-RS 渲染图像（JPEG/PNG，window=窗位,窗宽）", query=Rendered, tags=TAGS, extra={"responses": IMAGES})
@requires(Perm.IMAGE_READ)
def rendered_instance(study: str, series: str, sop: str) -> Any:
    return _render(study, series, sop, 1)


@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}/frames/<int:frame>/rendered")
@doc("WADO-RS 渲染帧（JPEG/PNG，window=窗位,窗宽）", query=Rendered, tags=TAGS, extra={"responses": IMAGES})
@requires(Perm.IMAGE_READ)
def rendered_frame(study: str, series: str, sop: str, frame: int) -> Any:
    return _render(study, series, sop, frame)


# ---- STOW-RS ----

def _parts() -> list[bytes]:
    """The parts of a multipart/related body (each a Part-10 file)."""
    mimetype = request.mimetype
    if mimetype == "application/dicom":
        return [request.get_data()]
    if mimetype != "multipart/related":
        raise InvalidInput('STOW-RS 请求必须是 multipart/related; type="application/dicom"',
                           code="unsupported_media")
    boundary = request.mimetype_params.get("boundary", "").strip('"')
    if not boundary:
        raise InvalidInput("multipart 缺少 boundary", code="unsupported_media")
    body = request.get_data()
    marker = b"--" + boundary.encode()
    out = []
    for chunk in body.split(marker)[1:]:
        if chunk.startswith(b"--"):
            break
        _head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        out.append(content[:-2] if content.endswith(b"\r\n") else content)
    return out


def _stow(study: str | None) -> Response:
    status, answer = web.store(services(), _parts(), base=_base(), by=actor(), study_uid=study)
    return _json(answer, status)


_STOW_ANSWER = {DICOM_JSON: {"schema": {"type": "object"}}, "application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}
STOW_DOC = {"requestBody": {"required": True, "content": {"multipart/related": BINARY}},
            "responses": {**_responses({"200": {"description": "已全部存档", "content": _STOW_ANSWER}}),
                          "202": {"description": "部分失败", "content": _STOW_ANSWER},
                          "409": {"description": "全部失败（或状态冲突）", "content": _STOW_ANSWER}}}


@bp.post("/studies")
@doc("STOW-RS 上传实例到影像存档（需要 image.write）", tags=TAGS, extra=STOW_DOC)
@requires(Perm.IMAGE_WRITE)
def stow() -> Any:
    return _stow(None)


@bp.post(f"/studies/{STUDY}")
@doc("STOW-RS 上传实例到指定研究（需要 image.write）", tags=TAGS, extra=STOW_DOC)
@requires(Perm.IMAGE_WRITE)
def stow_study(study: str) -> Any:
    return _stow(study)


# ---- the viewer's own reads (JSON) ----

@bp.get(f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}/header")
@doc("阅片器：实例的 DICOM 头（标签、关键字、值；非 DICOMweb 标准）", tags=TAGS)
@requires(Perm.IMAGE_READ)
def header(study: str, series: str, sop: str) -> Any:
    info = web.instance_in(services(), study, series, sop, by=actor())
    rows = web.header_rows(services(), info, by=actor())
    spacing = web.spacing(services(), sop) if info.rows else None
    return Response(json.dumps({"rows": rows, "pixel_spacing": spacing}, ensure_ascii=False),
                    content_type="application/json")

