"""Parse request JSON and query strings into pydantic models; bad input becomes a 400."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel

from backend.domain.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BYTES = 256 * 1024


def json_body(model: type[M]) -> M:
    """The request body as `model`; refuses non-JSON, malformed and oversized bodies."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise InvalidInput("请求内容过大", code="payload_too_large")
    if not request.is_json:
        raise InvalidInput("请使用 JSON 格式提交（Content-Type: application/json）", code="not_json")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("JSON 格式错误，无法解析", code="malformed_json")
    if not isinstance(data, dict):
        raise InvalidInput("请求体必须是 JSON 对象", code="malformed_json")
    return model.model_validate(data)


def query_args(model: type[M]) -> M:
    """The query string as `model` (repeated keys become lists only where the model says so)."""
    data: dict[str, object] = {}
    for key in request.args:
        values = request.args.getlist(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation)
        data[key] = values if is_list else values[-1]
    return model.model_validate(data)
