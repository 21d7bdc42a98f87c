"""Each cockpit panel as a plain table (title, header, rows): the export and the page's data tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Table = tuple[str, list[str], list[list[Any]]]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _count(f: dict[str, Any]) -> Table:
    return f["label"], ["本期", "去年同期", "同比"], [[f["value"], f["last_year"], f["yoy_text"]]]


def _shares(f: dict[str, Any]) -> Table:
    rows = [[f["labels"][c], n, _pct(f["shares"][c])] for c, n in f["counts"].items()]
    return f["label"], ["类别", "完成量", "占比"], [*rows, ["合计", f["total"], _pct(1.0 if f["total"] else None)]]


def _others(f: dict[str, Any]) -> Table:
    return f["label"], ["设备", "本月完成量"], [[i["label"], i["value"]] for i in f["items"]]


def _others_yoy(f: dict[str, Any]) -> Table:
    return f["label"], ["设备", "本期", "去年同期", "同比"], [
        [i["label"], i["value"], i["last_year"], i["yoy_text"]] for i in f["items"]]


def _appointments(f: dict[str, Any]) -> Table:
    rows = [[m, n] for m, n in sorted(f["by_modality"].items())]
    return f["label"], ["设备", "预约数"], [*rows, ["合计", f["value"]]]


def _critical(f: dict[str, Any]) -> Table:
    return f["label"], ["危急值总数", f"{f['limit_min']}分钟内通知数", "超时", "待通知（未超时）"], [
        [f["total"], f["within"], f["late"], f["pending"]]]


def _critical_rate(f: dict[str, Any]) -> Table:
    return f["label"], ["及时通知率", "及时", "已判定", "待通知（不计入）"], [
        [f["text"], f["within"], f["judged"], f["pending"]]]


def _critical_yoy(f: dict[str, Any]) -> Table:
    return f["label"], ["本期通知率", "去年同期通知率", "同比变化"], [
        [_pct(f["rate"]), _pct(f["last_year_rate"]), f["text"]]]


def _trend(f: dict[str, Any]) -> Table:
    return f["label"], ["月份", f["this_year_label"], "去年同期月份", f["last_year_label"]], [
        [m, a, lm, b] for m, a, lm, b in zip(f["labels"], f["this_year"], f["last_year_labels"], f["last_year"],
                                             strict=True)]


def _flow(f: dict[str, Any]) -> Table:
    kinds = list(f["series"])
    return f["label"], ["日期", *[f["series_labels"][k] for k in kinds]], [
        [day, *[f["series"][k][i] for k in kinds]] for i, day in enumerate(f["days"])]


def _waits(f: dict[str, Any]) -> Table:
    return f["label"], ["患者", "检查号", "检查项目", "已等候（分钟）", "超时（分钟）", "状态"], [
        [i["patient"], i["accession"], i["exam"], i["waited_min"], i["over_min"],
         "候检中" if i["still_waiting"] else "已开始检查"] for i in f["items"]]


TABLES: dict[str, Callable[[dict[str, Any]], Table]] = {
    "CP-1": _count, "CP-2": _count, "CP-3": _shares, "CP-4": _shares, "CP-5": _others, "CP-6": _others_yoy,
    "CP-7": _appointments, "CP-8": _critical, "CP-9": _critical_rate, "CP-10": _critical_yoy,
    "CP-11": _trend, "CP-12": _trend, "CP-13": _flow, "CP-14": _flow, "CP-15": _waits,
}
