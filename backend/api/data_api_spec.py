"""The data API's OpenAPI, from the same field declarations as the dictionary: parameters and answers."""

from __future__ import annotations

from typing import Any

from backend.domain.data_catalog import DatasetDef, FieldDef, field_entry
from backend.domain.data_query import FORMATS, INT_MAX, INT_MIN, MAX_LIMIT, MAX_VALUES
from backend.services.data_api.formats import ERRORS

TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"}, "code": {"type": "string"}, "json": {"type": "object"},
}
# What the app answers before the data API's view runs: a path no route takes (a dataset name with a slash
# or a control character) and text the one input validator refuses everywhere (a NUL byte).
GENERIC = ("http_404", "http_405", "invalid_text")
INT32 = {"minimum": INT_MIN, "maximum": INT_MAX}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string", "enum": sorted({*ERRORS, *GENERIC})}, "message": {"type": "string"}}}}}


def _describe(f: FieldDef) -> str:
    parts = [f.description] if f.description else []
    if f.unit:
        parts.append(f"单位：{f.unit}")
    if f.codes:
        parts.append("代码：" + "；".join(f"{c} {label}" for c, label in f.codes.items()))
    if f.pii:
        parts.append("个人信息：无 data.pii 权限时脱敏")
    return "。".join(parts)


def field_schema(f: FieldDef) -> dict[str, Any]:
    """One field's JSON schema, carrying the dictionary (title, unit, codes, example) with it."""
    s: dict[str, Any] = {**TYPES[f.type], "title": f.label, "x-dictionary": field_entry(f)}
    if f.codes:
        s["enum"] = [*f.codes, *([None] if f.nullable else [])]
    if f.nullable:
        s["type"] = [s["type"], "null"]
    if description := _describe(f):
        s["description"] = description
    if f.example is not None:
        s["examples"] = [f.example]
    return s


def _filter_params(d: DatasetDef) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in d.fields:
        base = {**TYPES[f.type], **({"enum": list(f.codes)} if f.codes else {}),
                **(INT32 if f.type == "integer" else {})}
        if f.filter == "eq":
            out.append({"name": f.name, "in": "query", "required": False, "style": "form", "explode": True,
                        "schema": {"type": "array", "items": base, "maxItems": MAX_VALUES},
                        "description": f"按“{f.label}”筛选（任一）"})
        elif f.filter == "range":
            kind = "date-time" if f.type == "datetime" else "date"
            for suffix, word in (("from", "起（含）"), ("to", "止（不含）")):
                out.append({"name": f"{f.name}_{suffix}", "in": "query", "required": False,
                            "schema": {"type": "string", "format": kind},
                            "description": f"“{f.label}”{word}"})
    return out


def _common_params(d: DatasetDef) -> list[dict[str, Any]]:
    sorts = [s for name in d.sortable() for s in (name, f"-{name}")]
    return [
        {"name": "fields", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "返回的字段，逗号分隔"},
        {"name": "sort", "in": "query", "required": False,
         "schema": {"type": "string", **({"enum": sorts} if sorts else {})}, "description": "排序字段，- 为倒序"},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "description": "每页条数"},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 2048},
         "description": "上一页的 next_cursor"},
        {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": list(FORMATS)}},
        {"name": "updated_since", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
         "description": "增量同步起点（上次的 next_updated_since）"},
    ]


def page_schema(d: DatasetDef) -> dict[str, Any]:
    key = field_schema(d.by_field[d.key])
    item = {"type": "object", "required": [d.key], "additionalProperties": False,
            "properties": {f.name: field_schema(f) for f in d.fields}}
    tomb = {"type": "object", "required": [d.key, "reason", "at"], "properties": {
        d.key: key, "reason": {"type": "string", "enum": ["cancelled", "deleted"]},
        "at": {"type": ["string", "null"], "format": "date-time"}}}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {"type": "object", "title": d.label, "x-dataset": d.name,
            "required": ["dataset", "mode", "count", "items", "tombstones", "next_cursor", "next_updated_since",
                         "masked", "note"],
            "properties": {"dataset": {"type": "string", "const": d.name},
                           "mode": {"type": "string", "enum": ["list", "incremental", "snapshot"]},
                           "count": {"type": "integer", "minimum": 0}, "items": {"type": "array", "items": item},
                           "tombstones": {"type": "array", "items": tomb},
                           "next_cursor": {"type": ["string", "null"]}, "next_updated_since": nullable_time,
                           "masked": {"type": "boolean"}, "note": {"type": "string"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def operation(d: DatasetDef) -> dict[str, Any]:
    """The OpenAPI facts of one dataset's GET (passed to `doc(extra=...)`)."""
    return {
        "parameters": _common_params(d) + _filter_params(d),
        "security": [{"apiKey": []}],
        "description": f"{d.description}\n\n需要权限范围：{d.scope}（个人信息另需 data.pii）。同步：{d.sync_note}",
        "x-dictionary": {"dataset": d.name, "label": d.label, "key": d.key, "kind": d.kind},
        "responses": {
            "200": {"description": "一页数据", "headers": {"X-Next-Cursor": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": page_schema(d)},
                                "text/csv": {"schema": {"type": "string"}}}},
            "400": _error("查询参数有误（unknown_filter、unknown_field、invalid_cursor、invalid_limit 等）"),
            "401": _error("缺少或无效的 API 密钥"), "403": _error("该密钥无权读取此数据集"),
            "429": {**_error("调用过于频繁"), "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
        },
    }


DICTIONARY_OPERATION: dict[str, Any] = {
    "responses": {"200": {"description": "字段字典", "content": {"application/json": {"schema": {
        "type": "object", "required": ["version", "datasets"],
        "properties": {"version": {"type": "string"}, "datasets": {"type": "array", "items": {"type": "object"}},
                       "parameters": {"type": "object"}, "errors": {"type": "array"}}}}}},
        "429": _error("调用过于频繁")},
}
