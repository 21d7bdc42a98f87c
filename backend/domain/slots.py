"""Appointment slots (号源): whether an item needs one and whether one has room."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SlotView:
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)

    @property
    def full(self) -> bool:
        return self.booked >= self.capacity


TIME_BANDS = {"am": "上午", "pm": "下午", "night": "夜间", "all_day": "全天"}
