"""The cockpit's figures (CP-1…CP-15, computed by the cockpit itself) as one long table for the data API.

Each number becomes a row (figure, series, dimension, value, unit): a low-code platform charts such a
table without knowing the nested shape the cockpit page uses. CP-15 lists patients; only its count and
threshold travel here (the exam list is the place for names).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, Category

Row = dict[str, Any]
SERIES = {"value": "本期", "last_year": "去年同期", "yoy": "同比", "count": "例数", "share": "占比",
          "total": "总数", "within": "时限内通知数", "rate": "比率", "last_year_rate": "去年同期比率",
          "change_pp": "同比变化（百分点）", "this_year": "今年", "by_modality": "按设备", "threshold": "阈值"}
UNITS = {"yoy": "比例", "share": "比例", "rate": "比例", "last_year_rate": "比例", "change_pp": "百分点",
         "threshold": "分钟"}


class _Table:
    def __init__(self, at: datetime) -> None:
        self.at = at.isoformat()
        self.rows: list[Row] = []

    def add(self, fig: str, label: str, series: str, value: Any, *, dim: str = "", dim_label: str = "",
            series_label: str = "", unit: str = "") -> None:
        self.rows.append({"id": f"{fig}/{series}/{dim}", "figure": fig, "figure_label": label, "series": series,
                          "series_label": series_label or SERIES.get(series, series), "dimension": dim,
                          "dimension_label": dim_label or dim,
                          "value": None if value is None else float(value),
                          "unit": unit or UNITS.get(series, "例"), "as_of": self.at})


def _yoy(t: _Table, fig: str, f: dict[str, Any], dim: str = "", dim_label: str = "") -> None:
    for series in ("value", "last_year", "yoy"):
        t.add(fig, f["label"], series, f[series], dim=dim, dim_label=dim_label)


def _shares(t: _Table, fig: str, f: dict[str, Any]) -> None:
    for cat, n in f["counts"].items():
        label = CATEGORY_LABELS[Category(cat)]
        t.add(fig, f["label"], "count", n, dim=cat, dim_label=label)
        t.add(fig, f["label"], "share", f["shares"][cat], dim=cat, dim_label=label)


def _items(t: _Table, fig: str, f: dict[str, Any]) -> None:
    for item in f["items"]:
        for series in ("value", "last_year", "yoy"):
            if series in item:
                t.add(fig, f["label"], series, item[series], dim=item["modality"], dim_label=item["label"])


def _scalars(t: _Table, fig: str, f: dict[str, Any], names: tuple[str, ...]) -> None:
    for series in names:
        t.add(fig, f["label"], series, f[series], unit="例" if series in ("total", "within") else "")


def _months(t: _Table, fig: str, f: dict[str, Any]) -> None:
    for series, label in (("this_year", f["this_year_label"]), ("last_year", f["last_year_label"])):
        for month, month_label, n in zip(f["months"], f["labels"], f[series], strict=True):
            t.add(fig, f["label"], series, n, dim=month, dim_label=month_label, series_label=label)


def _flows(t: _Table, fig: str, f: dict[str, Any]) -> None:
    for kind, values in f["series"].items():
        for day, day_label, n in zip(f["days"], f["labels"], values, strict=True):
            t.add(fig, f["label"], kind, n, dim=day, dim_label=day_label, series_label=f["series_labels"][kind])


def _subspecialty(t: _Table, fig: str, f: dict[str, Any]) -> None:
    t.add(fig, f["label"], "value", f["value"])
    for mod, n in f["by_modality"].items():
        t.add(fig, f["label"], "by_modality", n, dim=mod, dim_label=MODALITY_LABELS.get(mod, mod))


def _long_waits(t: _Table, fig: str, f: dict[str, Any]) -> None:
    t.add(fig, f["label"], "count", len(f["items"]), unit="人")
    t.add(fig, f["label"], "threshold", f["threshold_min"])


FLATTEN: dict[str, Callable[[_Table, str, dict[str, Any]], None]] = {
    "CP-1": lambda t, k, f: _yoy(t, k, f, f["modality"], f["modality"]),
    "CP-2": lambda t, k, f: _yoy(t, k, f, f["modality"], f["modality"]),
    "CP-3": _shares, "CP-4": _shares, "CP-5": _items, "CP-6": _items, "CP-7": _subspecialty,
    "CP-8": lambda t, k, f: _scalars(t, k, f, ("total", "within")),
    "CP-9": lambda t, k, f: _scalars(t, k, f, ("rate",)),
    "CP-10": lambda t, k, f: _scalars(t, k, f, ("rate", "last_year_rate", "change_pp")),
    "CP-11": _months, "CP-12": _months, "CP-13": _flows, "CP-14": _flows, "CP-15": _long_waits,
}


def flatten(figures: dict[str, Any], at: datetime) -> list[Row]:
    """Every figure of `figures` (the cockpit's answer) as rows, in figure order."""
    t = _Table(at)
    for fig, fn in FLATTEN.items():
        if fig in figures:
            fn(t, fig, figures[fig])
    return t.rows
