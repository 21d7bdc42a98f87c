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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

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

    def explain(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "chosen_room_id": self.room_id,
            "candidates": [c.as_dict() for c in self.candidates],
        }


def _key(r: RoomLoad) -> tuple[float, int, str, int]:
    return ((r.load + 1) / r.capacity, -r.free, r.code, r.room_id)


def choose_room(candidates: Sequence[RoomLoad], *, over_cap: bool = False) -> Choice:
    """Pick the room for one patient, or the pool when there is no room or every room is full.

    `over_cap` (a priority patient, when the setting allows it): with every room full, the patient still
    goes to the room with the lowest (load + 1) / capacity instead of the pool.
    """
    cands = tuple(sorted(candidates, key=lambda r: (r.code, r.room_id)))
    if not cands:
        return Choice(None, "no_open_session", cands)
    open_ = [r for r in cands if r.load < r.capacity]
    if not open_ and over_cap and any(r.capacity > 0 for r in cands):
        best = min((r for r in cands if r.capacity > 0), key=_key)
        return Choice(best.room_id, "priority_over_cap", cands)
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


class SessionEnd(StrEnum):
    """Why a shift session ended (ShiftSession.end_reason)."""

    LOGOUT = "logout"
    HANDOVER = "handover"
    SWITCHED = "switched"
    CLOSED = "closed"
    EXPIRED = "expired"


# An exam started while its ticket still waited: the ticket closes with this reason (issue 15 item 10).
TICKET_CLOSED_BY_START: Final = "exam_started"


# ---- who may run a room (US-7, issue 16 item 6) -----------------------------------------------------------
# Nurses and admins end or take over a room only through the explicit room actions (pause/resume/close/
# take over), never by opening a session of their own with `take_over`.
ROOM_SUPERVISOR_ROLES: Final = frozenset({"nurse", "admin"})


def may_examine(roles: Iterable[str]) -> bool:
    """True for the roles that examine patients and so may open (or take over) a shift session."""
    return bool(SHIFT_ROLES & set(roles))


def may_supervise_rooms(roles: Iterable[str]) -> bool:
    """True for the triage nurse and the admin: pause, resume, close or take over any room."""
    return bool(ROOM_SUPERVISOR_ROLES & set(roles))


def shift_choice_required(setting: bool, department_code: str | None, roles: Iterable[str]) -> bool:
    """US-7 as a setting: with `us.shift_required` on, ultrasound examiners without a session may not work
    the exam list (a hard gate); off, the shift page is offered after sign-in but may be skipped."""
    return setting and needs_shift_choice(department_code, roles)


# ---- shift time windows (issue 15 item 9) -----------------------------------------------------------------
# Default windows of each slot type in site time ("HH:MM"); a shift's own start/end win when set.
SLOT_WINDOWS: Final[dict[str, tuple[str, str]]] = {
    "am": ("08:00", "12:00"), "pm": ("13:00", "17:30"), "night": ("17:30", "08:00"), "all_day": ("08:00", "17:30"),
}


def parse_hhmm(text: str, *, label: str = "时间") -> time:
    """'08:30' -> time(8, 30); anything else is refused with a Chinese reason."""
    try:
        h, m = (int(x) for x in str(text).strip().split(":"))
        return time(h, m)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{label}格式应为 时:分（如 08:00）：{text}", code="invalid_time") from exc


def shift_window(slot_type: str, start: str | None = None, end: str | None = None) -> tuple[time, time]:
    """The shift's working window in site time: its own times, else its slot type's default."""
    d_start, d_end = SLOT_WINDOWS.get(slot_type, SLOT_WINDOWS["all_day"])
    return parse_hhmm(start or d_start, label="开始时间"), parse_hhmm(end or d_end, label="结束时间")


def session_ends_at(started_local: datetime, window: tuple[time, time], *, grace_min: int) -> datetime:
    """When a session started at `started_local` (site time, aware) ends by itself.

    The session belongs to the window occurrence it started in (or the next one, when it started before
    the window opened): it ends `grace_min` minutes after that window's end. A window that does not cross
    midnight ends at the day change at the latest (the grace never carries a session into the next day);
    a night window (end before start) ends the next morning.
    """
    start_t, end_t = window
    day = started_local.date()
    tz = started_local.tzinfo
    crosses = end_t <= start_t
    if crosses and started_local.time() < end_t:
        day = day - timedelta(days=1)  # a night session opened after midnight belongs to last evening's window
    end_day = day + timedelta(days=1) if crosses else day
    midnight = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    end = datetime.combine(end_day, end_t, tzinfo=tz) + timedelta(minutes=grace_min)
    if not crosses:
        end = min(end, midnight)
    if end <= started_local:
        # Chosen after its window (a doctor working late on the morning shift): it ends at the day change.
        end = midnight
    return end


# ---- why a patient went where (issue 15 item 10) ----------------------------------------------------------
PLACEMENT_REASONS: Final[dict[str, str]] = {
    "fair_share": "按各诊室负荷均衡分配",
    "all_full": "各诊室均已达自动分诊上限，进入待分诊池",
    "no_open_session": "当前没有接诊该队列的诊室开班，进入待分诊池",
    "room_freed": "诊室完成一位检查后从待分诊池补入",
    "first_room": "过号重新签到，回到最后叫号的诊室",
    "session_closed": "原诊室班次结束，重新分诊",
    "room_paused": "原诊室暂停接诊，重新分诊",
    "priority_over_cap": "优先患者，超过上限分配",
    "same_patient": "同一患者的其他检查已在该诊室，合并到同一诊室",
    "patient_busy": "该患者正在其他诊室候检或检查，暂不分配",
    TICKET_CLOSED_BY_START: "检查已开始，排队号关闭",
}
PLACEMENT_MODES: Final[dict[str, str]] = {"auto": "自动分诊", "pull": "自动补位", "manual": "手工分诊",
                                          "requeue": "过号回诊室"}


def placement_text(kind: str, details: Mapping[str, Any], room_names: Mapping[int, str]) -> str:
    """A ticket placement row of the exam timeline in Chinese, with the room and the reason."""
    def room(key: str) -> str:
        rid = details.get(key)
        return room_names.get(int(rid), f"诊室{rid}") if rid is not None else ""

    mode = PLACEMENT_MODES.get(str(details.get("mode", "")), "")
    reason = PLACEMENT_REASONS.get(str(details.get("reason", "")), str(details.get("reason") or ""))
    target, source = room("chosen_room_id"), room("from_room_id")
    where = f"分到 {target}" if target else ("进入待分诊池" if kind == "ticket_pooled" else "")
    if where and source:
        where += f"（原 {source}）"
    parts = [p for p in (mode, where) if p]
    if kind == "ticket_released" and not target:
        parts = [f"离开 {source}" if source else "离开诊室", "回到待分诊池"]
    if details.get("actor_name") and details.get("mode") == "manual":
        parts.append(f"操作人 {details['actor_name']}")
    if details.get("over_capacity"):
        parts.append("超过自动分诊上限")
    if reason:
        parts.append(f"原因：{reason}")
    return "，".join(parts)


# ---- priority classes (issue 15 item 7) -------------------------------------------------------------------
PRIORITY_CLASS_LABELS: Final[dict[str, str]] = {"critical": "危重", "emergency": "急诊", "elderly": "老人",
                                                "pregnant": "孕妇", "military": "军人"}


def priority_classes(*, patient_class: str, priority: str, age: int | None, elderly_age: int,
                     pregnant: bool, pregnant_on: bool, military: bool, military_on: bool) -> list[str]:
    """The priority classes of one patient, most urgent first (empty: an ordinary patient).

    急诊 (emergency patients) and 危重 (stat orders) always count; 老人 (age >= `elderly_age`, 0 = off),
    孕妇 and 军人 only when their setting is on.
    """
    out = []
    if priority == "stat":
        out.append("critical")
    if patient_class == "emergency":
        out.append("emergency")
    if elderly_age > 0 and age is not None and age >= elderly_age:
        out.append("elderly")
    if pregnant_on and pregnant:
        out.append("pregnant")
    if military_on and military:
        out.append("military")
    return out


def may_pass_cap(classes: Sequence[str], *, setting: bool) -> bool:
    """Priority patients (any class) go to a room even when every room is at its cap, when allowed."""
    return setting and bool(classes)


# ---- who the patient is, on staff pages (issue 14 item 9) -------------------------------------------------
SEX_TEXT: Final[dict[str, str]] = {"M": "男", "F": "女", "O": "其他", "U": "未知"}


def age_on(birth: date | None, today: date) -> int | None:
    """Whole years on `today` (None without a birth date)."""
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def staff_identity(*, name: str, sex: str, birth: date | None, mrn: str, today: date) -> dict[str, Any]:
    """What staff pages show to check identity at the door: the full name, sex, age and MRN (never masked;
    masking is for public screens only)."""
    age = age_on(birth, today)
    sex_text = SEX_TEXT.get(sex, "未知")
    return {"name": name, "sex": sex_text, "age": age, "mrn": mrn,
            "identity": f"{name} · {sex_text} · {'' if age is None else f'{age}岁 · '}{mrn}"}


# The exam timeline's Chinese names of the queue-ticket rows (the detail dialog; item 10).
TICKET_TIMELINE_LABELS: Final[dict[str, str]] = {
    "ticket_created": "取号排队", "ticket_called": "叫号", "ticket_recalled": "重呼", "ticket_missed": "过号",
    "ticket_requeued": "过号重新排队", "ticket_transferred": "转诊室", "ticket_done": "排队完成",
    "ticket_cancelled": "排队取消", "ticket_triaged": "分诊", "ticket_pooled": "待分诊", "ticket_released": "退回分诊",
}
PLACEMENT_KINDS: Final = frozenset({"ticket_triaged", "ticket_pooled", "ticket_released"})
