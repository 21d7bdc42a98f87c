"""The data API's answers as text: the field dictionary, and a page as CSV written row by row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from backend.domain.data_catalog import dataset_entry
from backend.domain.data_datasets import DATASETS
from backend.domain.data_query import DEFAULT_LIMIT, MAX_LIMIT
from backend.services.data_api.read import Page

CSV_CHUNK = 200
# Every refusal the data API answers, by its stable code (also in the OpenAPI and docs/data_api.md).
ERRORS: dict[str, tuple[int, str]] = {
    "unauthenticated": (401, "未提供 API 密钥（请求头 X-API-Key）"),
    "api_key_required": (401, "使用了员工登录而非 API 密钥（数据接口须使用 API 密钥）"),
    "bad_api_key": (401, "API 密钥格式错误、无效或已吊销"),
    "dataset_forbidden": (403, "该密钥没有此数据集的 data.read 权限范围"),
    "unknown_dataset": (404, "没有这个数据集"),
    "unknown_filter": (400, "该数据集不能按此参数筛选"),
    "unknown_field": (400, "fields 或 sort 中有该数据集没有的字段"),
    "invalid_filter_value": (400, "筛选值与字段类型或代码表不符"),
    "invalid_sort": (400, "该字段不能排序，或增量同步时指定了 sort"),
    "invalid_limit": (400, f"limit 须为 1 到 {MAX_LIMIT} 的整数"),
    "invalid_format": (400, "format 只能是 json 或 csv"),
    "invalid_cursor": (400, "cursor 无效、被改动，或与本次查询条件不一致"),
    "invalid_updated_since": (400, "updated_since 须为带时区的 ISO 8601 时间或日期"),
    "updated_since_too_old": (400, "增量同步回溯过久，请全量读取"),
    "rate_limited": (429, "调用过于频繁，请按 Retry-After 秒数后重试"),
}


def dictionary() -> dict[str, Any]:
    """The field dictionary of every dataset, with the common parameters and the error codes."""
    return {
        "version": "v1",
        "datasets": [dataset_entry(d) for d in DATASETS.values()],
        "parameters": {
            "fields": "返回的字段，逗号分隔（主键总会返回）",
            "sort": "排序字段（仅可排序字段），前加 - 为倒序；增量同步时不可用",
            "limit": f"每页条数，默认 {DEFAULT_LIMIT}，最大 {MAX_LIMIT}",
            "cursor": "上一页返回的 next_cursor（不透明、已签名，须与原查询条件一同使用）",
            "format": "json（默认）或 csv（流式输出；下一页游标在响应头 X-Next-Cursor）",
            "updated_since": "增量同步起点：上次同步最后一页返回的 next_updated_since",
            "<字段>": "等值筛选：可重复或逗号分隔，表示“任一”",
            "<字段>_from / <字段>_to": "范围筛选：起（含）止（不含）；只写日期时按院区时区当日零点",
        },
        "errors": [{"code": c, "status": s, "message": m} for c, (s, m) in ERRORS.items()],
    }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def csv_rows(page: Page) -> Iterator[str]:
    """The page as CSV text in chunks: a header of field names, then the rows.

    In an incremental sync the first column `_op` says `upsert` for a row and `delete` for a deleted
    one (a cancelled row is an `upsert` with its cancelled status).
    """
    sync = page.mode == "incremental"
    names = list(page.query.fields)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((["_op"] if sync else []) + names)
    for i, item in enumerate(page.items, 1):
        writer.writerow((["upsert"] if sync else []) + [_cell(item.get(n)) for n in names])
        if i % CSV_CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    key = page.dataset.key
    for t in page.tombstones if sync else []:
        if t["reason"] == "deleted":
            writer.writerow(["delete"] + [t[key] if n == key else "" for n in names])
    yield out.getvalue()
