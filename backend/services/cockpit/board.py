"""The department cockpit: all fifteen CP figures for one moment, from the rollups (docs/metrics.md)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.domain.actor import Actor
from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, Category
from backend.domain.errors import InvalidInput
from backend.domain.masking import mask_name
from backend.domain.metrics import (
    FLOW_LABELS,
    Change,
    MarkKind,
    Window,
    last_days,
    local_day,
    month_window,
    month_windows,
    rate,
    rate_change,
    same_period_last_year,
    shares,
    yoy,
)
from backend.domain.permissions import Perm
from backend.services import settings_store
from backend.services.base import Services, Tx, transaction
from backend.services.cockpit import queries as q

APPROVED = MarkKind.REPORT_APPROVED.value
CATEGORIES = tuple(c.value for c in Category)
FLOW_KINDS = tuple(k.value for k in FLOW_LABELS)
OTHER_MODALITIES = ("DX", "MG", "RF")


def resolve_as_of(svc: Services, as_of: datetime | None, by: Actor) -> datetime:
    """The moment to compute for: now, or a past moment that only an admin may ask for."""
    by.require(Perm.COCKPIT_VIEW)
    now = svc.clock()
    if as_of is None:
        return now
    by.require(Perm.ADMIN)
    if as_of.tzinfo is None:
        raise InvalidInput("as_of 须带时区（例如 2026-11-27T09:00:00+08:00）", code="as_of_naive")
    if as_of > now:
        raise InvalidInput("as_of 不能晚于当前时间", code="as_of_future")
    return as_of.astimezone(UTC)


def figures(svc: Services, *, by: Actor, as_of: datetime | None = None, mask: bool = False) -> dict[str, Any]:
    """Every CP figure as of `as_of` (default now); `mask` hides patient names (big screen)."""
    at = resolve_as_of(svc, as_of, by)
    with transaction(svc, readonly=True) as tx:
        return compute(tx, at, mask=mask)


def _change(c: Change) -> dict[str, Any]:
    return {"value": c.this, "last_year": c.last, "yoy": c.ratio, "yoy_text": c.text, "no_base": c.no_base}


def _win(w: Window) -> dict[str, str]:
    return {"start": w.start.isoformat(), "end": w.end.isoformat()}


def compute(tx: Tx, at: datetime, *, mask: bool = False) -> dict[str, Any]:
    """All figures inside an open (read) transaction; the API, the page and the bench call this."""
    tz = tx.tz
    month = month_window(at, tz)
    month_ly = same_period_last_year(month, tz)
    this = q.window_sum(tx, (APPROVED,), month, by=("modality", "category"))
    last = q.window_sum(tx, (APPROVED,), month_ly, by=("modality", "category"))
    out: dict[str, Any] = {"as_of": at.isoformat(), "timezone": tz.key,
                           "windows": {"month": _win(month), "month_last_year": _win(month_ly)}}
    out.update(_completions(this, last))
    out["CP-7"] = _subspecialty_today(tx, at)
    out.update(_critical(tx, month, month_ly))
    out.update(_trends(tx, at))
    out.update(_flows(tx, at))
    out["CP-15"] = _long_waits(tx, at, mask=mask)
    return out


def _by_modality(c: Counter[q.Key], modality: str) -> Counter[str]:
    return Counter({k[1]: n for k, n in c.items() if k[0] == modality})


def _completions(this: Counter[q.Key], last: Counter[q.Key]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fig, share_fig, mod in (("CP-1", "CP-3", "CT"), ("CP-2", "CP-4", "MR")):
        cats = _by_modality(this, mod)
        out[fig] = {"label": f"本月{mod}完成量", "modality": mod,
                    **_change(yoy(sum(cats.values()), sum(_by_modality(last, mod).values())))}
        counts = {c: cats.get(c, 0) for c in CATEGORIES}
        out[share_fig] = {"label": f"本月{mod}检查类别占比", "modality": mod, "total": sum(counts.values()),
                          "counts": counts, "shares": shares(counts, CATEGORIES),
                          "labels": {c: CATEGORY_LABELS[Category(c)] for c in CATEGORIES}}
    items = []
    for mod in OTHER_MODALITIES:
        n_this, n_last = sum(_by_modality(this, mod).values()), sum(_by_modality(last, mod).values())
        items.append({"modality": mod, "label": MODALITY_LABELS[mod], **_change(yoy(n_this, n_last))})
    out["CP-5"] = {"label": "本月DR、钼靶、胃肠造影完成量",
                   "items": [{k: i[k] for k in ("modality", "label", "value")} for i in items]}
    out["CP-6"] = {"label": "DR、钼靶、胃肠造影同比", "items": items}
    return out


def _subspecialty_today(tx: Tx, at: datetime) -> dict[str, Any]:
    counts = q.appointments_on(tx, local_day(at, tx.tz), until=at, where={"category": ("subspecialty",)})
    by_mod = {k[0]: n for k, n in counts.items()}
    return {"label": "今日亚专科预约", "value": sum(by_mod.values()), "by_modality": by_mod}


def _critical(tx: Tx, month: Window, month_ly: Window) -> dict[str, Any]:
    limit_min = int(settings_store.get_in(tx, "critical.notify_limit_min"))
    limit = timedelta(minutes=limit_min)
    total, within = q.critical_counts(tx, month, limit)
    total_ly, within_ly = q.critical_counts(tx, month_ly, limit)
    r, r_ly = rate(within, total), rate(within_ly, total_ly)
    change = rate_change(r, r_ly)
    return {
        "CP-8": {"label": "本月危急值", "total": total, "within": within, "limit_min": limit_min},
        "CP-9": {"label": f"本月危急值{limit_min}分钟内通知率", "rate": r,
                 "text": "—" if r is None else f"{r * 100:.1f}%", "limit_min": limit_min},
        "CP-10": {"label": "危急值及时通知率同比", "rate": r, "last_year_rate": r_ly, "change_pp": change,
                  "no_base": r_ly is None, "last_year_total": total_ly, "last_year_within": within_ly,
                  "text": "—" if change is None else f"{change:+.1f}个百分点"},
    }


def _monthly(tx: Tx, windows: list[Window]) -> dict[str, list[int]]:
    """Approved reports per month window for CT and MR, from one day-series read."""
    c = q.daily_series(tx, (APPROVED,), windows[0].start_day, windows[-1].end, by=("modality",),
                       where={"modality": ("CT", "MR")})
    index = {(w.start_day.year, w.start_day.month): i for i, w in enumerate(windows)}
    out = {"CT": [0] * len(windows), "MR": [0] * len(windows)}
    for (day, _kind, mod), n in c.items():
        i = index.get((day.year, day.month))
        if i is not None:
            out[mod][i] += n
    return out


def _trends(tx: Tx, at: datetime) -> dict[str, Any]:
    tz = tx.tz
    windows = month_windows(at, tz, 6)
    this, last = _monthly(tx, windows), _monthly(tx, [same_period_last_year(w, tz) for w in windows])
    months = [f"{w.start_day:%Y-%m}" for w in windows]
    labels = [f"{w.start_day.month}月" for w in windows]
    return {fig: {"label": f"近6个月{mod}报告审核量同比", "modality": mod, "months": months, "labels": labels,
                  "this_year": this[mod], "last_year": last[mod],
                  "this_year_label": f"{windows[-1].start_day.year}年",
                  "last_year_label": f"{windows[-1].start_day.year - 1}年"}
            for fig, mod in (("CP-11", "CT"), ("CP-12", "MR"))}


def _flows(tx: Tx, at: datetime) -> dict[str, Any]:
    days = last_days(at, tx.tz, 7)
    c = q.daily_series(tx, FLOW_KINDS, days[0].start_day, at, by=("patient_class",))
    out = {}
    for fig, cls, name in (("CP-13", "outpatient", "门诊"), ("CP-14", "inpatient", "住院")):
        out[fig] = {"label": f"近7天{name}开单、预约、检查、报告", "patient_class": cls,
                    "days": [d.start_day.isoformat() for d in days],
                    "labels": [f"{d.start_day.month}/{d.start_day.day}" for d in days],
                    "series": {k: [c.get((d.start_day, k, cls), 0) for d in days] for k in FLOW_KINDS},
                    "series_labels": {k.value: label for k, label in FLOW_LABELS.items()}}
    return out


def _long_waits(tx: Tx, at: datetime, *, mask: bool) -> dict[str, Any]:
    minutes = int(settings_store.get_in(tx, "cockpit.long_wait_min"))
    start = last_days(at, tx.tz, 1)[0].start
    items = q.long_waits(tx, start, at, timedelta(minutes=minutes))
    if mask:
        for item in items:
            item["patient"] = mask_name(item["patient"])
    return {"label": f"候检超{minutes / 60:g}小时患者", "threshold_min": minutes, "items": items}
