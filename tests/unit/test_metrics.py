"""Cockpit metric rules against hand-computed values (docs/metrics.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.domain.critical import notified_within
from backend.domain.metrics import (
    TICK,
    last_days,
    last_year,
    local_day,
    month_window,
    month_windows,
    rate,
    rate_change,
    same_period_last_year,
    shares,
    waited,
    yoy,
)
from backend.domain.turnaround import minutes_left, needs_reminder, reminder_due, report_due, target_minutes

SH = ZoneInfo("Asia/Shanghai")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("at", "day"), [
    (utc(2026, 11, 30, 15, 59, 59), date(2026, 11, 30)),  # 23:59:59 Shanghai
    (utc(2026, 11, 30, 16, 0, 0), date(2026, 12, 1)),  # Shanghai midnight = 16:00 UTC the day before
    (utc(2026, 12, 31, 16, 0, 0), date(2027, 1, 1)),  # new year in Shanghai, still 31 Dec in UTC
])
def test_local_day_is_shanghai_midnight_not_utc(at: datetime, day: date) -> None:
    assert local_day(at, SH) == day


@pytest.mark.parametrize(("as_of", "start_utc"), [
    (utc(2026, 11, 27, 1, 0), utc(2026, 10, 31, 16, 0)),  # 1 Nov 00:00 Shanghai
    (utc(2026, 11, 30, 16, 30), utc(2026, 11, 30, 16, 0)),  # 1 Dec 00:30 Shanghai: December already
    (utc(2026, 12, 31, 17, 0), utc(2026, 12, 31, 16, 0)),  # 1 Jan 2027 01:00 Shanghai: a new year
])
def test_month_window_starts_at_local_first(as_of: datetime, start_utc: datetime) -> None:
    w = month_window(as_of, SH)
    assert w.start == start_utc
    assert w.end == as_of
    assert w.contains(start_utc)
    assert not w.contains(start_utc - TICK)


@pytest.mark.parametrize(("at", "expected"), [
    # same local moment a year earlier
    (datetime(2026, 11, 27, 9, 0, tzinfo=SH), datetime(2025, 11, 27, 9, 0, tzinfo=SH)),
    # 29 February -> the end of 28 February last year (the whole of last year's February)
    (datetime(2028, 2, 29, 10, 0, tzinfo=SH), datetime(2027, 3, 1, 0, 0, tzinfo=SH) - TICK),
    # a 28 February after a leap year maps to 28 February (29 Feb last year is not in the window)
    (datetime(2029, 2, 28, 10, 0, tzinfo=SH), datetime(2028, 2, 28, 10, 0, tzinfo=SH)),
])
def test_last_year_and_29_february(at: datetime, expected: datetime) -> None:
    assert last_year(at, SH) == expected


def test_same_period_last_year_for_leap_february() -> None:
    w = same_period_last_year(month_window(datetime(2028, 2, 29, 10, 0, tzinfo=SH), SH), SH)
    assert w.start == datetime(2027, 2, 1, tzinfo=SH)
    assert w.contains(datetime(2027, 2, 28, 23, 59, tzinfo=SH))
    assert not w.contains(datetime(2027, 3, 1, 0, 0, tzinfo=SH))


def test_six_months_cross_the_year_boundary() -> None:
    ws = month_windows(datetime(2027, 2, 10, 12, 0, tzinfo=SH), SH, 6)
    assert [f"{w.start_day:%Y-%m}" for w in ws] == ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]
    assert ws[3].end == datetime(2027, 1, 1, tzinfo=SH) - TICK  # December is complete
    assert ws[-1].end == datetime(2027, 2, 10, 12, 0, tzinfo=SH)  # February to date


def test_last_seven_days_end_with_today_to_date() -> None:
    as_of = datetime(2026, 3, 2, 8, 0, tzinfo=SH)
    days = last_days(as_of, SH, 7)
    assert [d.start_day for d in days] == [date(2026, 2, 24) + timedelta(days=i) for i in range(7)]
    assert days[-1].end == as_of
    assert days[0].end == datetime(2026, 2, 25, tzinfo=SH) - TICK


@pytest.mark.parametrize(("this", "last", "ratio", "text", "no_base"), [
    (120, 100, 0.2, "+20.0%", False),
    (90, 100, -0.1, "-10.0%", False),
    (5, 0, None, "—", True),  # a zero base has no ratio
    (0, 0, None, "—", True),  # an empty month against an empty month
    (0, 4, -1.0, "-100.0%", False),  # an empty month this year
])
def test_year_over_year(this: int, last: int, ratio: float | None, text: str, no_base: bool) -> None:
    c = yoy(this, last)
    assert c.ratio == (pytest.approx(ratio) if ratio is not None else None)
    assert (c.text, c.no_base) == (text, no_base)


@pytest.mark.parametrize(("delay", "within"), [
    (timedelta(minutes=9, seconds=59), True),
    (timedelta(minutes=10), True),  # exactly 10 minutes counts as in time
    (timedelta(minutes=10, microseconds=1), False),
    (None, False),  # never notified
])
def test_critical_notified_within_ten_minutes(delay: timedelta | None, within: bool) -> None:
    raised = utc(2026, 11, 27, 1, 0)
    assert notified_within(raised, raised + delay if delay else None, timedelta(minutes=10)) is within


def test_rates_and_shares() -> None:
    assert rate(3, 4) == 0.75
    assert rate(0, 0) is None  # an empty month has no rate
    assert rate_change(0.9, 0.75) == pytest.approx(15.0)
    assert rate_change(0.9, None) is None
    assert shares({"routine": 6, "gcp": 2}, ("routine", "subspecialty", "gcp")) == {
        "routine": 0.75, "subspecialty": 0.0, "gcp": 0.25}
    assert shares({}, ("routine",)) == {"routine": None}


def test_wait_counts_to_start_or_now() -> None:
    t0 = utc(2026, 11, 27, 0, 0)
    assert waited(t0, t0 + timedelta(minutes=95), t0 + timedelta(hours=5)) == timedelta(minutes=95)
    assert waited(t0, None, t0 + timedelta(minutes=100)) == timedelta(minutes=100)


TARGETS = {"emergency": {"CT": 60, "DX": 30}, "outpatient": {"CT": 240}}


@pytest.mark.parametrize(("cls", "mod", "prio", "minutes"), [
    ("emergency", "CT", "routine", 60),
    ("emergency", "DX", "urgent", 30),
    ("outpatient", "CT", "stat", 60),  # stat uses the emergency targets
    ("outpatient", "CT", "routine", 240),
    ("emergency", "PET", "routine", 30),  # unknown modality: the class's smallest target
    ("inpatient", "MR", "routine", 30),  # unknown class: the emergency table
])
def test_turnaround_targets(cls: str, mod: str, prio: str, minutes: int) -> None:
    assert target_minutes(TARGETS, patient_class=cls, modality=mod, priority=prio) == minutes


def test_report_due_and_reminder_window() -> None:
    end = utc(2026, 11, 27, 1, 0)
    due = report_due(TARGETS, patient_class="emergency", modality="CT", priority="routine", completed_at=end)
    assert due == end + timedelta(minutes=60)
    assert report_due(TARGETS, patient_class="emergency", modality="CT", priority="routine", completed_at=end,
                      item_minutes=30) == end + timedelta(minutes=30)
    lead = timedelta(minutes=10)
    assert not reminder_due(due, now=due - timedelta(minutes=11), lead=lead)
    assert reminder_due(due, now=due - timedelta(minutes=10), lead=lead)
    assert minutes_left(due, due - timedelta(minutes=9, seconds=30)) == 9
    assert minutes_left(due, due + timedelta(minutes=2, seconds=30)) == -2
    assert needs_reminder(patient_class="emergency", priority="routine")
    assert needs_reminder(patient_class="inpatient", priority="stat")
    assert not needs_reminder(patient_class="outpatient", priority="urgent")
