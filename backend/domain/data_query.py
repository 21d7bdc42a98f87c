"""Parse a data API query string against a dataset's declaration; every refusal has a stable code.

Parameters: `fields` (comma list), `sort` (a sortable field, `-field` for descending), `limit`,
`cursor`, `format` (json or csv), `updated_since` (incremental sync), and one filter per declared field:
`field=a&field=b` or `field=a,b` (any of), `field_from` / `field_to` for ranges (from inclusive, to
exclusive; a bare date means that local day's start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Final

from backend.domain.data_catalog import DatasetDef, FieldDef
from backend.domain.errors import InvalidInput

MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 100
FORMATS: Final = ("json", "csv")
# Integer filters are ids: 32-bit columns on PostgreSQL, which refuses a wider literal with an error.
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
RESERVED: Final = frozenset({"fields", "sort", "limit", "cursor", "format", "updated_since"})
MAX_VALUES: Final = 100
TRUE, FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


@dataclass(frozen=True, slots=True)
class DataQuery:
    dataset: str
    fields: tuple[str, ...]
    equals: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    sort: str = "id"
    descending: bool = False
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    format: str = "json"
    updated_since: datetime | None = None

    def fingerprint(self) -> list[Any]:
        """What a cursor is bound to: the same dataset, filters, order and sync window start."""
        eq = sorted([k, [str(v) for v in vs]] for k, vs in self.equals.items())
        rg = sorted([k, [str(lo), str(hi)]] for k, (lo, hi) in self.ranges.items())
        since = self.updated_since.isoformat() if self.updated_since else None
        return [self.dataset, eq, rg, self.sort, self.descending, since]


def _bad(code: str, message: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, code=code, **details)


def parse_value(f: FieldDef, raw: str, tz: tzinfo) -> Any:
    """One filter value as the field's type; a value that is not one is `invalid_filter_value`."""
    text = raw.strip()
    try:
        if f.type == "integer":
            number = int(text)
            if not INT_MIN <= number <= INT_MAX:  # beyond what an id column holds (PostgreSQL integer)
                raise ValueError(text)
            return number
        if f.type == "number":
            return float(text)
        if f.type == "boolean":
            if text.lower() in TRUE | FALSE:
                return text.lower() in TRUE
            raise ValueError(text)
        if f.type == "date":
            return date.fromisoformat(text)
        if f.type == "datetime":
            return parse_moment(text, tz)
    except (ValueError, OverflowError):
        raise _bad("invalid_filter_value", f"“{f.label}”（{f.name}）的值无效：{text[:40]}", field=f.name) from None
    if f.codes is not None and text not in f.codes:
        raise _bad("invalid_filter_value", f"“{f.label}”（{f.name}）没有代码 {text[:40]}；可选："
                   + "、".join(f"{c} {label}" for c, label in f.codes.items()), field=f.name)
    return text


def parse_moment(text: str, tz: tzinfo) -> datetime:
    """An ISO 8601 time with its offset, or a date (the start of that day in the site's zone), as UTC."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=tz).astimezone(UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment.astimezone(UTC)


def _split(values: Sequence[str]) -> list[str]:
    out = [part for v in values for part in v.split(",") if part.strip()]
    if len(values) > MAX_VALUES or len(out) > MAX_VALUES:  # repeated parameters count, empty ones too
        raise _bad("invalid_filter_value", f"一个筛选条件最多 {MAX_VALUES} 个值")
    return out


def _filter_for(d: DatasetDef, name: str) -> tuple[FieldDef, str]:
    """The field and the part ("eq", "from", "to") that a query parameter filters on."""
    for suffix in ("_from", "_to"):
        base = name.removesuffix(suffix)
        f = d.by_field.get(base)
        if base != name and f is not None and f.filter == "range":
            return f, suffix[1:]
    f = d.by_field.get(name)
    if f is not None and f.filter == "eq":
        return f, "eq"
    raise _bad("unknown_filter", f"数据集“{d.label}”不能按 {name[:40]} 筛选；可用："
               + "、".join(filter_params(d)), parameter=name[:40])


def filter_params(d: DatasetDef) -> list[str]:
    """Every filter parameter the dataset accepts (for messages and the OpenAPI)."""
    out: list[str] = []
    for f in d.fields:
        if f.filter == "eq":
            out.append(f.name)
        elif f.filter == "range":
            out += [f"{f.name}_from", f"{f.name}_to"]
    return out


def _fields(d: DatasetDef, raw: str | None) -> tuple[str, ...]:
    if not raw:
        return tuple(f.name for f in d.fields)
    wanted = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in d.by_field]
    if unknown:
        raise _bad("unknown_field", f"数据集“{d.label}”没有字段：{'、'.join(unknown)[:200]}", fields=unknown[:20])
    # The key always travels: a mirror needs it, and so does the next page's cursor.
    return tuple(dict.fromkeys([d.key, *wanted]))


def _sort(d: DatasetDef, raw: str | None) -> tuple[str, bool]:
    if raw is not None and not raw.strip():
        raise _bad("invalid_sort", "sort 不能为空；不排序时请省略该参数")
    if raw is None:
        return d.key if d.key in d.sortable() else (d.sortable() or [d.key])[0], False
    name = raw.strip()
    desc = name.startswith("-")
    name = name.lstrip("-")
    if name not in d.by_field:
        raise _bad("unknown_field", f"数据集“{d.label}”没有字段：{name[:40]}", fields=[name[:40]])
    if name not in d.sortable():
        raise _bad("invalid_sort", f"“{d.by_field[name].label}”不能排序；可排序字段：{'、'.join(d.sortable())}")
    return name, desc


def _limit(raw: str | None) -> int:
    try:
        value = int(raw) if raw is not None else DEFAULT_LIMIT
    except ValueError:
        raise _bad("invalid_limit", f"每页条数须为 1 到 {MAX_LIMIT} 的整数") from None
    if not 1 <= value <= MAX_LIMIT:
        raise _bad("invalid_limit", f"每页条数须为 1 到 {MAX_LIMIT} 的整数", max=MAX_LIMIT)
    return value


def parse(d: DatasetDef, args: Mapping[str, Sequence[str]], tz: tzinfo) -> DataQuery:
    """The query for dataset `d` from a query string's values (each key with all its values)."""
    one = {k: (vs[-1] if vs else "") for k, vs in args.items()}
    fmt = one.get("format", "json").lower()
    if fmt not in FORMATS:
        raise _bad("invalid_format", "format 只能是 json 或 csv")
    equals: dict[str, tuple[Any, ...]] = {}
    ranges: dict[str, list[Any]] = {}
    for name, values in args.items():
        if name in RESERVED:
            continue
        f, part = _filter_for(d, name)
        if part == "eq":
            parsed = tuple(parse_value(f, v, tz) for v in _split(values))
            equals[f.name] = equals.get(f.name, ()) + parsed
        else:
            ranges.setdefault(f.name, [None, None])[0 if part == "from" else 1] = parse_value(f, one[name], tz)
    since = None
    if "updated_since" in one:  # present but empty is an error, not "no sync"
        try:
            since = parse_moment(one["updated_since"].strip(), tz)
        except (ValueError, OverflowError):
            raise _bad("invalid_updated_since", "updated_since 须为带时区的 ISO 8601 时间或日期") from None
    sort, desc = _sort(d, one.get("sort"))
    if since is not None and one.get("sort"):
        raise _bad("invalid_sort", "增量同步按变更顺序返回，不能同时指定 sort")
    return DataQuery(dataset=d.name, fields=_fields(d, one.get("fields")), equals=equals,
                     ranges={k: (lo, hi) for k, (lo, hi) in ranges.items()}, sort=sort, descending=desc,
                     limit=_limit(one.get("limit")), cursor=one.get("cursor") or None, format=fmt,
                     updated_since=since)
