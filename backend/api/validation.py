"""Parse request JSON and query strings into pydantic models; bad input becomes a 400."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from flask import request
from pydantic import AfterValidator, BaseModel, BeforeValidator

from backend.domain.errors import InvalidInput
from backend.domain.text_input import check_int, problem

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
    check_values(data)
    # Strict JSON validation: a boolean is true/false and an integer a JSON integer (never 0 for false or
    # "5" for 5), while dates and times still come as ISO 8601 strings.
    return model.model_validate_json(request.get_data(), strict=True)


def query_args(model: type[M]) -> M:
    """The query string as `model` (repeated keys become lists only where the model says so)."""
    data: dict[str, object] = {}
    for key in request.args:
        values = request.args.getlist(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation)
        data[key] = values if is_list else values[-1]
    check_values(data)
    parsed = model.model_validate(data)
    check_values(parsed.model_dump())  # the integers parsed from the text: in the id columns' range too
    return parsed


def check_values(value: Any, path: str = "") -> None:
    """Every string and integer inside a request, by the domain's one text and number rules."""
    if isinstance(value, str):
        reason = problem(value, multiline=True)
        if reason is not None:
            raise InvalidInput(f"{path or '请求'}{reason}", code="invalid_text", field=path)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        check_int(value, field=path or "数值")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_values(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_values(item, f"{path}[{i}]")


def _iso(kind: type[date]) -> Any:
    """Dates and times arrive as ISO 8601 text; a bare number (a Unix time to pydantic) is refused."""

    def parse(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if not isinstance(value, str) or len(value) < 10 or value[4] != "-":
            raise ValueError("须为 ISO 8601 格式（例如 2026-11-27 或 2026-11-27T09:00:00+08:00）")
        try:
            return kind.fromisoformat(value)
        except ValueError:
            raise ValueError("日期或时间无效") from None

    return parse


def _sane_year(value: date) -> date:
    if not 1900 <= value.year <= 2200:
        raise ValueError("年份须在 1900–2200 之间")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso(date)), AfterValidator(_sane_year)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso(datetime)), AfterValidator(_sane_year)]
