"""Rules of the admin panels: code and ticket-prefix formats, slot plans, capacity changes, JSON settings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.errors import Conflict, InvalidInput

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
PREFIX_RE = re.compile(r"^[A-Z]{1,4}$")
MAX_SLOT_DAYS = 92
MAX_CAPACITY = 500
MAX_TAT_MIN = 7 * 24 * 60


def clean_code(raw: str, *, what: str) -> str:
    """Upper-case a catalog code and check it: letters, digits, '-' or '_', at most 32 characters."""
    code = (raw or "").strip().upper()
    if not CODE_RE.match(code):
        raise InvalidInput(f"{what}编码须为 1-32 位大写字母、数字、“-”或“_”", code="invalid_code")
    return code


def clean_name(raw: str, *, what: str, limit: int = 64) -> str:
    name = (raw or "").strip()
    if not name or len(name) > limit:
        raise InvalidInput(f"{what}名称不能为空且不超过 {limit} 个字符", code="invalid_name")
    return name


def clean_prefix(raw: str) -> str:
    """A queue's ticket prefix: 1 to 4 upper-case letters (the hall screens read them aloud)."""
    prefix = (raw or "").strip()
    if not PREFIX_RE.match(prefix):
        raise InvalidInput("叫号前缀须为 1-4 位大写英文字母", code="invalid_prefix")
    return prefix


def check_tat(value: int | None, *, label: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TAT_MIN:
        raise InvalidInput(f"{label}须为 1 到 {MAX_TAT_MIN} 之间的整数（分钟）", code="invalid_tat")
    return value


def check_capacity(capacity: int, *, booked: int = 0) -> int:
    """A slot's capacity: 1..MAX_CAPACITY and never below the places already booked."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f"容量须为 1 到 {MAX_CAPACITY} 之间的整数", code="invalid_capacity")
    if capacity < booked:
        raise Conflict(f"该时段已预约 {booked} 人，容量不能小于已预约人数", code="capacity_below_booked",
                       booked=booked)
    return capacity


def band_of(hour: int) -> str:
    """The time band a slot starting at `hour` (local) belongs to."""
    if hour < 12:
        return "am"
    return "pm" if hour < 18 else "night"


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    day: date
    band: str
    starts_at: datetime
    ends_at: datetime


def plan_slots(
    date_from: date, date_to: date, *, hours: Iterable[int], length_min: int, tz: ZoneInfo,
    weekdays: Iterable[int] = range(7), existing: Iterable[datetime] = (),
) -> list[PlannedSlot]:
    """The slots to add for each day and start hour; starts already in `existing` are skipped."""
    if date_to < date_from:
        raise InvalidInput("结束日期不能早于开始日期", code="invalid_date_range")
    if (date_to - date_from).days + 1 > MAX_SLOT_DAYS:
        raise InvalidInput(f"一次最多生成 {MAX_SLOT_DAYS} 天的号源", code="date_range_too_long")
    hour_list = sorted(set(hours))
    if not hour_list or any(not 0 <= h <= 23 for h in hour_list):
        raise InvalidInput("请选择至少一个 0-23 之间的整点时段", code="invalid_hours")
    if not 10 <= length_min <= 24 * 60:
        raise InvalidInput("每个时段时长须在 10 到 1440 分钟之间", code="invalid_length")
    days_ok, have = set(weekdays), {e.astimezone(UTC) for e in existing}
    out: list[PlannedSlot] = []
    day = date_from
    while day <= date_to:
        if day.weekday() in days_ok:
            for hour in hour_list:
                start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
                if start not in have:
                    out.append(PlannedSlot(day, band_of(hour), start, start + timedelta(minutes=length_min)))
        day += timedelta(days=1)
    return out


def check_like(default: Any, value: Any, *, path: str = "") -> None:
    """A JSON setting must keep the shape of its default: same containers, integers stay integers >= 0."""
    where = path or "根"
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise InvalidInput(f"“{where}”须为对象（{{...}}）", code="invalid_setting_shape")
        for key, sub in value.items():
            if key in default:
                check_like(default[key], sub, path=f"{path}.{key}" if path else str(key))
        return
    if isinstance(default, list):
        if not isinstance(value, list):
            raise InvalidInput(f"“{where}”须为数组（[...]）", code="invalid_setting_shape")
        return
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise InvalidInput(f"“{where}”须为 true 或 false", code="invalid_setting_shape")
        return
    if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidInput(f"“{where}”须为非负整数", code="invalid_setting_shape")
