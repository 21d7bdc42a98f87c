"""Ultrasound dispatch rules (pure): a room's capacity from its shift, and which room takes a patient.

Capacity (US-4, US-5): `max_auto` is what one sonographer handles alone in the shift; a typist takes the
typing of reports off the doctor, so the doctor scans more. The typist weight says how much more:
    capacity = max_auto                           without a typist
    capacity = floor(max_auto x (1 + weight))     with a typist (weight 0: no gain, 1: twice as many)
Rounded down so that auto-triage never promises more than the configured intent.

Room choice (US-1, US-9): loads should follow capacities (a room with twice the capacity takes twice the
patients). Among rooms below capacity, keep those still below their fair share of the next patient
((total load + 1) x capacity / total capacity; if none, all of them), then take the lowest
(load + 1) / capacity. This is Balinski and Young's quota method: every room stays within one patient of
its fair share (plain "lowest load/capacity" drifts up to two patients away with 12 rooms). Ties go to
the room with more free places, then to the lower room code (stable and easy to explain at the desk).
No room below capacity: the patient waits in the pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from backend.domain.errors import InvalidInput

SLOT_TYPES: Final[dict[str, str]] = {"am": "上午", "pm": "下午", "night": "夜班", "all_day": "全天"}
# Who is asked to choose a shift after signing in (US-7): ultrasound department staff who examine patients.
SHIFT_DEPARTMENT: Final = "USD"
SHIFT_ROLES: Final = frozenset({"radiologist", "senior_radiologist", "technologist"})
MAX_AUTO_LIMIT: Final = 500


def needs_shift_choice(department_code: str | None, roles: Iterable[str]) -> bool:
    """Ultrasound (USD) staff who examine patients choose a shift before any other panel (US-7)."""
    return department_code == SHIFT_DEPARTMENT and bool(SHIFT_ROLES & set(roles))


def validate_shift(*, name: str, max_auto: int, typist_weight: float, slot_type: str) -> None:
    """Refuse a shift with an empty name, a maximum out of 0..500, a weight out of 0..1 or an unknown slot type."""
    if not name.strip():
        raise InvalidInput("班次名称不能为空", code="shift_name_required")
    if not 0 <= max_auto <= MAX_AUTO_LIMIT:
        raise InvalidInput(f"自动分诊最大数量必须在 0 到 {MAX_AUTO_LIMIT} 之间", code="invalid_max_auto")
    if not (isinstance(typist_weight, int | float) and 0 <= typist_weight <= 1) or math.isnan(typist_weight):
        raise InvalidInput("打字员权重必须是 0 到 1 之间的数", code="invalid_typist_weight")
    if slot_type not in SLOT_TYPES:
        raise InvalidInput(f"未知的时段类型：{slot_type}", code="invalid_slot_type")


def capacity(max_auto: int, typist_weight: float, *, with_typist: bool) -> int:
    """How many patients auto-triage may give a room at once (see the module docstring for why)."""
    if not with_typist:
        return max_auto
    # The epsilon keeps 10 x 1.3 = 12.999... from rounding down to 12.
    return math.floor(max_auto * (1 + typist_weight) + 1e-9)


@dataclass(frozen=True, slots=True)
class RoomLoad:
    """One candidate room: its code (tie-break), capacity and current load (waiting + called patients)."""

    room_id: int
    code: str
    capacity: int
    load: int

    @property
    def free(self) -> int:
        return self.capacity - self.load

    def as_dict(self) -> dict[str, object]:
        return {"room_id": self.room_id, "code": self.code, "load": self.load, "capacity": self.capacity}


@dataclass(frozen=True, slots=True)
class Choice:
    """The decision and why: the chosen room (None: the pool) and every candidate's load."""

    room_id: int | None
    reason: str
    candidates: tuple[RoomLoad, ...]

    def explain(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "chosen_room_id": self.room_id,
            "candidates": [c.as_dict() for c in self.candidates],
        }


def _key(r: RoomLoad) -> tuple[float, int, str, int]:
    return ((r.load + 1) / r.capacity, -r.free, r.code, r.room_id)


def choose_room(candidates: Sequence[RoomLoad]) -> Choice:
    """Pick the room for one patient, or the pool when there is no room or every room is full."""
    cands = tuple(sorted(candidates, key=lambda r: (r.code, r.room_id)))
    if not cands:
        return Choice(None, "no_open_session", cands)
    open_ = [r for r in cands if r.load < r.capacity]
    if not open_:
        return Choice(None, "all_full", cands)
    total, cap = sum(r.load for r in cands) + 1, sum(r.capacity for r in cands)
    below_share = [r for r in open_ if r.load * cap < total * r.capacity]
    best = min(below_share or open_, key=_key)
    return Choice(best.room_id, "fair_share", cands)


def distribute(capacities: Sequence[int], patients: int) -> list[int]:
    """Loads after `patients` successive choices on empty rooms (used by tests and the bench)."""
    rooms = [RoomLoad(i, f"R{i:03d}", c, 0) for i, c in enumerate(capacities)]
    for _ in range(patients):
        choice = choose_room(rooms)
        if choice.room_id is None:
            break
        r = rooms[choice.room_id]
        rooms[choice.room_id] = RoomLoad(r.room_id, r.code, r.capacity, r.load + 1)
    return [r.load for r in rooms]
