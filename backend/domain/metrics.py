"""Cockpit metric rules (docs/metrics.md): local-time windows, same period last year, YoY and rates.

Every window is a closed interval of instants [start, end] in UTC whose start is a local midnight in
the hospital's zone; `end` is usually the `as_of` moment (month to date).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Final

from backend.domain.catalog import TimelineKind


class MarkKind(StrEnum):
    """A cockpit mark: an exam's first timeline row of a counted kind (same name), or its appointment day."""

    ORDERED = "ordered"
    APPOINTMENT = "appointment"
    STARTED = "started"
    REPORT_APPROVED = "report_approved"


# Timeline kinds counted once per exam, at their first occurrence, on that local day.
COUNTED: Final[Mapping[TimelineKind, MarkKind]] = {
    TimelineKind.ORDERED: MarkKind.ORDERED,
    TimelineKind.STARTED: MarkKind.STARTED,
    TimelineKind.REPORT_APPROVED: MarkKind.REPORT_APPROVED,
}
# Rows that withdraw an earlier counted row: an undone start (a reconstruction link withdrawn, LN-5) was no
# start; the exam counts as started when, and if, it starts again.
WITHDRAWN: Final[Mapping[TimelineKind, TimelineKind]] = {TimelineKind.START_UNDONE: TimelineKind.STARTED}
# Rows that may move an exam's appointment mark (booked, re-booked, or cancelled).
APPOINTMENT_KINDS: Final = frozenset({TimelineKind.SCHEDULED, TimelineKind.EDITED, TimelineKind.CANCELLED})
# The patient-flow series of the cockpit (CP-13, CP-14), in display order, with their labels.
FLOW_LABELS: Final[Mapping[MarkKind, str]] = {
    MarkKind.ORDERED: "开单", MarkKind.APPOINTMENT: "预约", MarkKind.STARTED: "检查", MarkKind.REPORT_APPROVED: "报告",
}
# Rows that start, end or cancel a wait in the hall (check-in to start of the exam).
WAIT_KINDS: Final = frozenset({TimelineKind.CHECKED_IN, TimelineKind.CHECK_IN_UNDONE, TimelineKind.STARTED,
                               TimelineKind.CANCELLED})

# A window that must cover a whole local day or month ends one microsecond before the next midnight.
TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Window:
    """A closed interval [start, end] of aware instants; `start_day` is the local day of `start`."""

    start: datetime
    end: datetime
    start_day: date

    def contains(self, at: datetime) -> bool:
        return self.start <= at <= self.end


@dataclass(frozen=True, slots=True)
class Change:
    """A year-over-year change: `ratio` is (this - last) / last; None with `no_base` when last is 0."""

    this: float
    last: float
    ratio: float | None
    no_base: bool

    @property
    def text(self) -> str:
        """The display form: "+12.5%", "-3.0%", or "—" when there is no base to compare with."""
        return "—" if self.ratio is None else f"{self.ratio * 100:+.1f}%"


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The instant a local day starts in `tz`."""
    return datetime.combine(day, time(0), tzinfo=tz)


def local_day(at: datetime, tz: tzinfo) -> date:
    """The hospital-local calendar day of an instant."""
    return at.astimezone(tz).date()


def month_window(as_of: datetime, tz: tzinfo) -> Window:
    """This month to date: from local midnight of the 1st up to `as_of` inclusive."""
    first = local_day(as_of, tz).replace(day=1)
    return Window(start=local_midnight(first, tz), end=as_of, start_day=first)


def day_window(day: date, tz: tzinfo) -> Window:
    """One whole local day."""
    start = local_midnight(day, tz)
    return Window(start=start, end=local_midnight(day + timedelta(days=1), tz) - TICK, start_day=day)


def add_months(day: date, months: int) -> date:
    """The 1st of the month `months` away from `day`'s month."""
    idx = day.year * 12 + day.month - 1 + months
    return date(idx // 12, idx % 12 + 1, 1)


def last_year(at: datetime, tz: tzinfo) -> datetime:
    """The same local moment one year earlier; 29 February becomes the end of 28 February.

    29 February has no counterpart, so the period last year runs to the end of that February:
    the whole of last year's February is compared with this year's February to date.
    """
    loc = at.astimezone(tz)
    try:
        return loc.replace(year=loc.year - 1)
    except ValueError:  # 29 February
        return local_midnight(date(loc.year - 1, 3, 1), tz) - TICK


def same_period_last_year(w: Window, tz: tzinfo) -> Window:
    """The same window one year earlier (start on the same local day, end by `last_year`)."""
    start_day = w.start_day.replace(year=w.start_day.year - 1) if (w.start_day.month, w.start_day.day) != (
        2, 29) else date(w.start_day.year - 1, 2, 28)
    return Window(start=local_midnight(start_day, tz), end=last_year(w.end, tz), start_day=start_day)


def month_windows(as_of: datetime, tz: tzinfo, n: int) -> list[Window]:
    """The last `n` calendar months ending with this month to date, oldest first."""
    this_first = local_day(as_of, tz).replace(day=1)
    out = []
    for k in range(n - 1, -1, -1):
        first = add_months(this_first, -k)
        end = as_of if k == 0 else local_midnight(add_months(first, 1), tz) - TICK
        out.append(Window(start=local_midnight(first, tz), end=end, start_day=first))
    return out


def last_days(as_of: datetime, tz: tzinfo, n: int) -> list[Window]:
    """The last `n` local days ending with today (today up to `as_of`), oldest first."""
    today = local_day(as_of, tz)
    out = [day_window(today - timedelta(days=k), tz) for k in range(n - 1, 0, -1)]
    return [*out, Window(start=local_midnight(today, tz), end=as_of, start_day=today)]


def yoy(this: float, last: float) -> Change:
    """Year-over-year change; a zero base gives no ratio (shown as "—") and sets `no_base`."""
    if last == 0:
        return Change(this=this, last=last, ratio=None, no_base=True)
    return Change(this=this, last=last, ratio=(this - last) / last, no_base=False)


def rate(part: int, total: int) -> float | None:
    """part / total, or None when nothing was counted (an empty month has no rate)."""
    return None if total == 0 else part / total


def rate_change(this: float | None, last: float | None) -> float | None:
    """Year-over-year change of a rate, in percentage points; None when either rate is missing."""
    return None if this is None or last is None else (this - last) * 100


def shares(counts: dict[str, int], keys: tuple[str, ...]) -> dict[str, float | None]:
    """Each key's share of the total (None for every key when the total is zero)."""
    total = sum(counts.get(k, 0) for k in keys)
    return {k: rate(counts.get(k, 0), total) for k in keys}


def waited(checked_in: datetime, started: datetime | None, now: datetime) -> timedelta:
    """How long a patient waited: to the start of the exam, or until now while still waiting."""
    return (started or now) - checked_in


def fold_waits(rows: Iterable[tuple[int, str, datetime]]) -> dict[int, tuple[datetime, datetime | None]]:
    """Exam id -> (checked in at, started at or None while waiting), from timeline rows oldest first.

    The last check-in before the start counts; an undone check-in or a cancellation ends the wait.
    """
    state: dict[int, tuple[datetime, datetime | None]] = {}
    for exam_id, kind, at in rows:
        current = state.get(exam_id)
        if current is not None and current[1] is not None:
            continue  # already started: later rows do not change the wait
        if kind == TimelineKind.CHECKED_IN:
            state[exam_id] = (at, None)
        elif kind == TimelineKind.STARTED and current is not None:
            state[exam_id] = (current[0], at)
        elif kind in (TimelineKind.CHECK_IN_UNDONE, TimelineKind.CANCELLED):
            state.pop(exam_id, None)
    return state


# --- Scope, critical-value honesty and the readings a setting chooses (issue 17) ---

# Which modalities a cockpit covers: the radiology department's by default; the ultrasound department
# has its own. Setting `cockpit.scopes` (scope -> label and modalities) overrides this table.
DEFAULT_SCOPES: Final[Mapping[str, Mapping[str, object]]] = {
    "radiology": {"label": "放射科", "modalities": ["CT", "MR", "DX", "MG", "RF"]},
    "ultrasound": {"label": "超声科", "modalities": ["US"]},
}
DEFAULT_SCOPE: Final = "radiology"


@dataclass(frozen=True, slots=True)
class CriticalTally:
    """Critical values raised in a window, judged at the window's end.

    within: notified at most `limit` after raising; late: notified later, or not yet notified and already
    past the limit (overdue); pending: not notified yet and still inside the limit (not counted in the rate).
    """

    total: int = 0
    within: int = 0
    late: int = 0
    pending: int = 0

    @property
    def judged(self) -> int:
        return self.within + self.late

    @property
    def rate(self) -> float | None:
        return rate(self.within, self.judged)


def critical_tally(rows: Iterable[tuple[datetime, datetime | None]], end: datetime, limit: timedelta) -> CriticalTally:
    """Tally (raised_at, notified_at) pairs as known at `end`; a notice after `end` is not known yet."""
    total = within = late = pending = 0
    for raised_at, notified_at in rows:
        total += 1
        seen = notified_at if notified_at is not None and notified_at <= end else None
        if seen is not None:
            if seen - raised_at <= limit:
                within += 1
            else:
                late += 1
        elif end - raised_at <= limit:
            pending += 1
        else:
            late += 1
    return CriticalTally(total=total, within=within, late=late, pending=pending)


def notice_time(stated: datetime | None, recorded: datetime | None, basis: str) -> datetime | None:
    """The notification time a figure uses: as entered (`stated`) or when it was recorded in the system.

    Rows from before recording times were kept have no recorded time: their stated time is used.
    """
    if basis == "recorded" and stated is not None and recorded is not None:
        return max(stated, recorded)
    return stated


def backdated(stated: datetime, recorded: datetime, tolerance: timedelta) -> bool:
    """True when the notification time entered lies more than `tolerance` before it was entered."""
    return recorded - stated > tolerance


def trend_labels(months: list[date]) -> list[str]:
    """Month labels that always name their year ("2025年12月"), for charts crossing the new year."""
    return [f"{d.year}年{d.month}月" for d in months]


def _declare_settings() -> None:
    from backend.domain.settings_catalog import SettingDef, add

    for defn in (
        SettingDef("cockpit.scopes", {k: dict(v) for k, v in DEFAULT_SCOPES.items()},
                   "驾驶舱范围（科室 → 名称与设备；默认放射科，不含超声）", "json", group="驾驶舱"),
        SettingDef("cockpit.completion_basis", "report_approved",
                   "“完成量”口径：report_approved 报告审核完成 / started 检查已执行", "str", group="驾驶舱"),
        SettingDef("cockpit.last_year_basis", "same_days",
                   "“去年同期”口径：same_days 去年同月同日为止 / whole_month 去年整月", "str", group="驾驶舱"),
        SettingDef("cockpit.appointment_basis", "on_day",
                   "“预约量”口径：on_day 预约在当日的检查 / booked 当日新登记的预约", "str", group="驾驶舱"),
        SettingDef("critical.timeliness_basis", "recorded",
                   "危急值及时率口径：recorded 按系统登记时间 / stated 按填写的通知时间", "str", group="危急值"),
        SettingDef("critical.backdate_tolerance_min", 2,
                   "通知时间早于登记时间超过多少分钟须填写原因（并在明细中标记）", "int", 0, 240, "危急值"),
    ):
        add(defn)


_declare_settings()
BASIS_CHOICES: Final[Mapping[str, tuple[str, ...]]] = {
    "cockpit.completion_basis": ("report_approved", "started"),
    "cockpit.last_year_basis": ("same_days", "whole_month"),
    "cockpit.appointment_basis": ("on_day", "booked"),
    "critical.timeliness_basis": ("recorded", "stated"),
}
COMPLETION_LABELS: Final[Mapping[str, str]] = {"report_approved": "报告审核完成", "started": "检查已执行"}


def basis(key: str, value: object) -> str:
    """A basis setting's value, or its default when an admin stored something unknown."""
    choices = BASIS_CHOICES[key]
    return str(value) if value in choices else choices[0]
