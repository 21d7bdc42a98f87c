"""The low-code data API's vocabulary: datasets, their fields (Chinese name, type, unit, codes) and scopes.

One declaration per field feeds the field dictionary, the OpenAPI schema, the query parser (which
parameters filter or sort), the masking of personal data and the CSV header; nothing repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Field types as the dictionary names them (and how the OpenAPI schema spells them).
TYPES: Final[Mapping[str, str]] = {
    "string": "文本", "integer": "整数", "number": "数值", "boolean": "是否", "datetime": "时间（ISO 8601，UTC）",
    "date": "日期（院区时区）", "code": "代码（见代码表）", "json": "结构化内容（JSON 对象）",
}
# How a personal field is masked for a key without `data.pii` (backend/domain/masking.py).
PII_KINDS: Final = frozenset({"name", "number"})
FILTERS: Final = frozenset({"", "eq", "range"})

READ_SCOPE_PREFIX: Final = "data.read:"
PII_SCOPE: Final = "data.pii"


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One column of a dataset: how it is named, typed, coded, masked, filtered and sorted."""

    name: str
    label: str
    type: str
    example: Any
    unit: str = ""
    codes: Mapping[str, str] | None = None
    pii: str = ""  # "", "name" or "number"
    filter: str = ""  # "" none, "eq" (any of the given values), "range" (<name>_from, <name>_to)
    sortable: bool = False
    nullable: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES or self.filter not in FILTERS or (self.pii and self.pii not in PII_KINDS):
            raise ValueError(f"bad field declaration: {self.name}")
        if (self.type == "code") != (self.codes is not None):
            raise ValueError(f"a code field needs its code list (and only a code field has one): {self.name}")


@dataclass(frozen=True, slots=True)
class DatasetDef:
    """A read-only dataset: its key, its fields and how a platform keeps a mirror of it current.

    `kind`: "rows" (keyset pages, incremental sync from the exam timeline or, for the upload ledgers, from
    the ledger row's own change time) or "snapshot" (a small current picture: every call answers all of it).
    """

    name: str
    label: str
    description: str
    key: str
    fields: tuple[FieldDef, ...]
    kind: str = "rows"
    sync_note: str = ""
    # Timeline kinds that change a row (None: every kind but NOISE_KINDS); "x_%" matches a prefix.
    change_kinds: tuple[str, ...] | None = None
    by_field: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_field", {f.name: f for f in self.fields})
        if self.key not in self.by_field or len(self.by_field) != len(self.fields):
            raise ValueError(f"dataset {self.name}: key missing or duplicate field names")

    @property
    def scope(self) -> str:
        return READ_SCOPE_PREFIX + self.name

    def sortable(self) -> list[str]:
        return [f.name for f in self.fields if f.sortable]


def code_list(codes: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"code": str(c), "label": label} for c, label in (codes or {}).items()]


def field_entry(f: FieldDef) -> dict[str, Any]:
    """One field as the dictionary shows it."""
    return {"name": f.name, "label": f.label, "type": f.type, "type_label": TYPES[f.type], "unit": f.unit,
            "codes": code_list(f.codes), "example": f.example, "nullable": f.nullable,
            "masked": f.pii or None, "filter": f.filter or None, "sortable": f.sortable,
            "description": f.description}


def dataset_entry(d: DatasetDef) -> dict[str, Any]:
    """One dataset as the dictionary shows it."""
    return {"name": d.name, "label": d.label, "description": d.description, "key": d.key, "kind": d.kind,
            "scope": d.scope, "sync": d.sync_note, "path": f"/api/data/v1/{d.name}",
            "fields": [field_entry(f) for f in d.fields]}


def scope_labels(datasets: Mapping[str, DatasetDef]) -> dict[str, str]:
    """Every data scope with its Chinese label, for the key form and the admin pages."""
    out = {d.scope: f"数据接口：读取{d.label}" for d in datasets.values()}
    out[PII_SCOPE] = "数据接口：查看未脱敏的个人信息"
    return out
