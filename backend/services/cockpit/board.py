"""The department cockpit: all fifteen CP figures for one moment, from the rollups (docs/metrics.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.domain.actor import Actor
from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, Category
from backend.domain.errors import InvalidInput
from backend.domain.masking import mask_name
from backend.domain.metrics import (
    COMPLETION_LABELS,
    DEFAULT_SCOPE,
    FLOW_LABELS,
    TICK,
    Change,
    MarkKind,
    Window,
    add_months,
    basis,
    critical_tally,
    day_window,
    last_days,
    local_day,
    local_midnight,
    month_window,
    month_windows,
    rate_change,
    same_period_last_year,
    shares,
    trend_labels,
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


def figures(svc: Services, *, by: Actor, as_of: datetime | None = None, mask: bool = False,
            scope: str = DEFAULT_SCOPE) -> dict[str, Any]:
    """Every CP figure as of `as_of` (default now) for one scope (department); `mask` hides patient names."""
    at = resolve_as_of(svc, as_of, by)
    with transaction(svc, readonly=True) as tx:
        return compute(tx, at, mask=mask, scope=scope)


@dataclass(frozen=True, slots=True)
class Config:
    """What a computation reads from the settings once: scope and the reading of each ambiguous word."""

    scope: str
    scope_label: str
    modalities: tuple[str, ...]
    completion: str  # report_approved / started
    last_year: str  # same_days / whole_month
    appointment: str  # on_day / booked
    critical_basis: str  # recorded / stated
    limit_min: int
    long_wait_min: int


def scopes(tx: Tx) -> dict[str, dict[str, Any]]:
    raw = settings_store.get_in(tx, "cockpit.scopes")
    return {str(k): {"label": str(v.get("label", k)), "modalities": [str(m) for m in v.get("modalities", [])]}
            for k, v in (raw or {}).items() if isinstance(v, dict)}


def config(tx: Tx, scope: str = DEFAULT_SCOPE) -> Config:
    known = scopes(tx)
    if scope not in known:
        raise InvalidInput(f"未知驾驶舱范围：{scope}；可选 {'、'.join(known)}", code="unknown_scope")
    def get(key: str) -> str:
        return basis(key, settings_store.get_in(tx, key))

    return Config(scope=scope, scope_label=known[scope]["label"], modalities=tuple(known[scope]["modalities"]),
                  completion=get("cockpit.completion_basis"), last_year=get("cockpit.last_year_basis"),
                  appointment=get("cockpit.appointment_basis"), critical_basis=get("critical.timeliness_basis"),
                  limit_min=int(settings_store.get_in(tx, "critical.notify_limit_min")),
                  long_wait_min=int(settings_store.get_in(tx, "cockpit.long_wait_min")))


def last_year_window(w: Window, tz: Any, reading: str) -> Window:
    """The same period last year: to the same moment (same_days) or last year's whole month (whole_month)."""
    ly = same_period_last_year(w, tz)
    if reading != "whole_month":
        return ly
    return Window(start=ly.start, end=local_midnight(add_months(ly.start_day, 1), tz) - TICK, start_day=ly.start_day)


def _change(c: Change) -> dict[str, Any]:
    return {"value": c.this, "last_year": c.last, "yoy": c.ratio, "yoy_text": c.text, "no_base": c.no_base}


def _win(w: Window) -> dict[str, str]:
    return {"start": w.start.isoformat(), "end": w.end.isoformat()}


def compute(tx: Tx, at: datetime, *, mask: bool = False, scope: str = DEFAULT_SCOPE) -> dict[str, Any]:
    """All figures inside an open (read) transaction; the API, the page and the bench call this."""
    tz = tx.tz
    cfg = config(tx, scope)
    month = month_window(at, tz)
    month_ly = last_year_window(month, tz, cfg.last_year)
    done = (cfg.completion,)
    this = q.window_sum(tx, done, month, by=("modality", "category"))
    last = q.window_sum(tx, done, month_ly, by=("modality", "category"))
    out: dict[str, Any] = {"as_of": at.isoformat(), "timezone": tz.key, "scope": cfg.scope,
                           "scope_label": cfg.scope_label, "modalities": list(cfg.modalities),
                           "windows": {"month": _win(month), "month_last_year": _win(month_ly)},
                           "readings": {"completion": cfg.completion, "last_year": cfg.last_year,
                                        "booking": cfg.appointment, "critical": cfg.critical_basis}}
    out.update(_completions(this, last, cfg))
    out["CP-7"] = _subspecialty_today(tx, at, cfg)
    out.update(_critical(tx, at, month, month_ly, cfg))
    out.update(_trends(tx, at, cfg))
    out.update(_flows(tx, at, cfg))
    out["CP-15"] = _long_waits(tx, at, cfg, mask=mask)
    _sparks(tx, at, cfg, out)
    return out


def _by_modality(c: Counter[q.Key], modality: str) -> Counter[str]:
    return Counter({k[1]: n for k, n in c.items() if k[0] == modality})


def _completions(this: Counter[q.Key], last: Counter[q.Key], cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    word = COMPLETION_LABELS[cfg.completion]
    ly_word = "去年同月整月" if cfg.last_year == "whole_month" else "去年同期"
    for fig, share_fig, mod in (("CP-1", "CP-3", "CT"), ("CP-2", "CP-4", "MR")):
        cats = _by_modality(this, mod)
        change = yoy(sum(cats.values()), sum(_by_modality(last, mod).values()))
        out[fig] = {"label": f"本月{mod}完成量", "modality": mod, "reading": f"完成＝{word}；对比{ly_word}",
                    "last_year_word": ly_word, **_change(change)}
        counts = {c: cats.get(c, 0) for c in CATEGORIES}
        out[share_fig] = {"label": f"本月{mod}检查类别占比", "modality": mod, "total": sum(counts.values()),
                          "reading": f"各类别占本月{mod}完成量（{word}）的比例",
                          "counts": counts, "shares": shares(counts, CATEGORIES),
                          "labels": {c: CATEGORY_LABELS[Category(c)] for c in CATEGORIES}}
    items = []
    for mod in OTHER_MODALITIES:
        n_this, n_last = sum(_by_modality(this, mod).values()), sum(_by_modality(last, mod).values())
        items.append({"modality": mod, "label": MODALITY_LABELS[mod], **_change(yoy(n_this, n_last))})
    out["CP-5"] = {"label": "本月DR、钼靶、胃肠造影完成量", "reading": f"完成＝{word}",
                   "items": [{k: i[k] for k in ("modality", "label", "value")} for i in items]}
    out["CP-6"] = {"label": "DR、钼靶、胃肠造影同比", "reading": f"完成＝{word}；对比{ly_word}", "items": items}
    return out


def _subspecialty_today(tx: Tx, at: datetime, cfg: Config) -> dict[str, Any]:
    where: dict[str, Iterable[str]] = {"category": ("subspecialty",), "modality": cfg.modalities}
    today = local_day(at, tx.tz)
    if cfg.appointment == "booked":
        w = day_window(today, tx.tz)
        by_mod = q.booked_on(tx, Window(start=w.start, end=at, start_day=today), where)
        reading = "今日新登记的亚专科预约（不论预约在哪天）"
    else:
        by_mod = {k[0]: n for k, n in q.appointments_on(tx, today, until=at, where=where).items()}
        reading = "预约在今日的亚专科检查（不含已取消）"
    return {"label": "今日亚专科预约", "value": sum(by_mod.values()), "by_modality": by_mod, "reading": reading}


def _pct(r: float | None) -> str:
    return "—" if r is None else f"{r * 100:.1f}%"


def _critical(tx: Tx, at: datetime, month: Window, month_ly: Window, cfg: Config) -> dict[str, Any]:
    limit_min = cfg.limit_min
    limit = timedelta(minutes=limit_min)
    t = q.critical_tally_in(tx, month, limit, cfg.modalities, cfg.critical_basis)
    t_ly = q.critical_tally_in(tx, month_ly, limit, cfg.modalities, cfg.critical_basis)
    r, r_ly = t.rate, t_ly.rate
    change = rate_change(r, r_ly)
    basis_word = "按系统登记时间" if cfg.critical_basis == "recorded" else "按填写的通知时间"
    return {
        "CP-8": {"label": "本月危急值", "total": t.total, "within": t.within, "late": t.late, "pending": t.pending,
                 "limit_min": limit_min, "basis": cfg.critical_basis},
        "CP-9": {"label": f"本月危急值{limit_min}分钟内通知率", "rate": r, "text": _pct(r), "limit_min": limit_min,
                 "within": t.within, "judged": t.judged, "pending": t.pending, "basis": cfg.critical_basis,
                 "reading": f"及时通知数 ÷（已通知＋已超时未通知），{basis_word}；{limit_min}分钟内尚未通知的"
                            "“待通知”不计入"},
        "CP-10": {"label": "危急值及时通知率同比", "rate": r, "last_year_rate": r_ly, "change_pp": change,
                  "no_base": r_ly is None, "last_year_total": t_ly.total, "last_year_within": t_ly.within,
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


def _trends(tx: Tx, at: datetime, cfg: Config) -> dict[str, Any]:
    tz = tx.tz
    windows = month_windows(at, tz, 6)
    ly_windows = [same_period_last_year(w, tz) for w in windows]
    this, last = _monthly(tx, windows), _monthly(tx, ly_windows)
    months = [f"{w.start_day:%Y-%m}" for w in windows]
    return {fig: {"label": f"近6个月{mod}报告审核量同比", "modality": mod, "months": months,
                  "last_year_months": [f"{w.start_day:%Y-%m}" for w in ly_windows],
                  "labels": trend_labels([w.start_day for w in windows]),
                  "last_year_labels": trend_labels([w.start_day for w in ly_windows]),
                  "this_year": this[mod], "last_year": last[mod],
                  "this_year_label": "近6个月", "last_year_label": "去年同期",
                  "reading": "每月首次审核的报告数；本月截至当前时刻，去年同期为去年同月同一时刻"}
            for fig, mod in (("CP-11", "CT"), ("CP-12", "MR"))}


def _flows(tx: Tx, at: datetime, cfg: Config) -> dict[str, Any]:
    days = last_days(at, tx.tz, 7)
    c = q.daily_series(tx, FLOW_KINDS, days[0].start_day, at, by=("patient_class",),
                       where={"modality": cfg.modalities})
    if cfg.appointment == "booked":
        booked = q.booked_per_day(tx, days[0].start, at, {"modality": cfg.modalities})
        for key in [k for k in c if k[1] == MarkKind.APPOINTMENT.value]:
            del c[key]
        c.update(booked)
    reading = ("预约＝当日新登记的预约" if cfg.appointment == "booked" else "预约＝预约在当日的检查") + \
        "；开单、检查（检查开始）、报告（首次审核）按发生日"
    out = {}
    for fig, cls, name in (("CP-13", "outpatient", "门诊"), ("CP-14", "inpatient", "住院")):
        out[fig] = {"label": f"近7天{name}开单、预约、检查、报告", "patient_class": cls, "reading": reading,
                    "days": [d.start_day.isoformat() for d in days],
                    "labels": [f"{d.start_day.month}/{d.start_day.day}" for d in days],
                    "series": {k: [c.get((d.start_day, k, cls), 0) for d in days] for k in FLOW_KINDS},
                    "series_labels": {k.value: label for k, label in FLOW_LABELS.items()}}
    return out


def _long_waits(tx: Tx, at: datetime, cfg: Config, *, mask: bool) -> dict[str, Any]:
    minutes = cfg.long_wait_min
    start = last_days(at, tx.tz, 1)[0].start
    items = q.long_waits(tx, start, at, timedelta(minutes=minutes), cfg.modalities)
    if mask:
        for item in items:
            item["patient"] = mask_name(item["patient"])
    return {"label": f"候检超{minutes / 60:g}小时患者", "threshold_min": minutes, "items": items,
            "reading": "今日签到者及午夜前签到仍在候检者；候检中的按至今时长"}


SPARK_DAYS = 14


def _sparks(tx: Tx, at: datetime, cfg: Config, out: dict[str, Any]) -> None:
    """A 14-day trend under each tile (the last point is today to date); rates per day (None: no data)."""
    days = last_days(at, tx.tz, SPARK_DAYS)
    c = q.daily_series(tx, (cfg.completion,), days[0].start_day, at, by=("modality",),
                       where={"modality": ("CT", "MR")})
    for fig, mod in (("CP-1", "CT"), ("CP-2", "MR")):
        out[fig]["spark"] = [c.get((d.start_day, cfg.completion, mod), 0) for d in days]
    appts = q.appointments_by_day(tx, [d.start_day for d in days], at,
                                  {"category": ("subspecialty",), "modality": cfg.modalities})
    out["CP-7"]["spark"] = [appts.get(d.start_day, 0) for d in days]
    limit = timedelta(minutes=cfg.limit_min)
    span = Window(start=days[0].start, end=at, start_day=days[0].start_day)
    rows = q.critical_rows(tx, span, cfg.modalities, cfg.critical_basis)
    per_day: dict[Any, list[Any]] = {d.start_day: [] for d in days}
    for raised, notice in rows:
        per_day.setdefault(local_day(raised, tx.tz), []).append((raised, notice))
    tallies = [critical_tally(per_day[d.start_day], min(d.end, at), limit) for d in days]
    out["CP-8"]["spark"] = [t.total for t in tallies]
    out["CP-9"]["spark"] = [t.rate for t in tallies]
    out["CP-10"]["spark"] = out["CP-9"]["spark"]
    out["spark_days"] = [d.start_day.isoformat() for d in days]


def describe(svc: Services, *, by: Actor, scope: str = DEFAULT_SCOPE) -> dict[str, Any]:
    """The scope's name and which reading each figure shows (for the page's titles, before any figure)."""
    by.require(Perm.COCKPIT_VIEW)
    with transaction(svc, readonly=True) as tx:
        cfg = config(tx, scope)
        known = scopes(tx)
    word = COMPLETION_LABELS[cfg.completion]
    ly = "去年整月" if cfg.last_year == "whole_month" else "去年同期"
    appt = "当日新登记" if cfg.appointment == "booked" else "预约在当日"
    crit = "登记时间" if cfg.critical_basis == "recorded" else "填写的通知时间"
    return {"scope": cfg.scope, "scope_label": cfg.scope_label, "modalities": list(cfg.modalities),
            "scopes": {k: v["label"] for k, v in known.items()},
            "readings": {"completion": f"完成＝{word}", "last_year": f"对比{ly}", "booking": f"预约＝{appt}",
                         "critical": f"按{crit}判定·待通知不计入"}}
