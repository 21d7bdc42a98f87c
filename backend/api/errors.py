"""Map domain errors and bad requests to JSON answers with a stable code and a Chinese message."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from backend.domain.errors import DomainError, TooManyRequests

logger = logging.getLogger(__name__)

# Paths whose errors are JSON (the API and DICOMweb); pages answer HTML.
JSON_PREFIXES = ("/api/", "/dicomweb/")
HTTP_MESSAGES = {
    400: "请求格式错误",
    401: "请先登录",
    403: "没有权限",
    404: "资源不存在",
    405: "不支持的请求方法",
    413: "请求内容过大",
    415: "请使用 JSON 格式提交",
    429: "请求过于频繁",
}


def error_response(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message, **extra}}), status


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        out.append({"field": loc, "problem": err["type"], "detail": err["msg"]})
    return out


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Any:
        body = exc.to_dict()
        response, status = error_response(exc.status, body.pop("code"), body.pop("message"), **body)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Any:
        fields = _field_errors(exc)
        names = "、".join(sorted({f["field"] for f in fields})) or "请求体"
        return error_response(400, "invalid_input", f"输入有误：{names}", fields=fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        if not request.path.startswith(JSON_PREFIXES):
            return exc
        response, _ = error_response(status, f"http_{status}", HTTP_MESSAGES.get(status, exc.name))
        for name, value in exc.get_headers():  # Allow on a 405, Retry-After on a 429
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Any:
        # A rule that a service forgot to check, caught by a database constraint: nothing was written.
        logger.warning("constraint refused a write on %s: %s", request.path, type(exc.orig).__name__)
        return error_response(409, "constraint_violation", "数据不完整或与已有数据冲突，未保存")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        logger.exception("unhandled error on %s", request.path)
        if not request.path.startswith(JSON_PREFIXES):
            return "服务器内部错误", 500
        return error_response(500, "internal_error", "服务器内部错误，请联系信息科")
