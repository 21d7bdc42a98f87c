"""What happens to one exam of the history: its planned milestones in epoch seconds, sampled from `rng`.

A plan is the whole life of an exam (order, slot, check-in, exam, report, critical value); the writer keeps
only the milestones that are not after "now", so today's exams end up in every state.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from backend.db.models import Campus, Department, ExamItem, Queue, QueueRoom, Room, Slot, User
from backend.seed import history_data as data

MIN = 60
HOUR = 3600


@dataclass
class ItemRef:
    id: int
    code: str
    modality: str
    body_part: str
    category: str
    queue_id: int | None
    needs_slot: bool
    needs_room: bool
    template: str | None
    campus_id: int
    rooms: list[int]


@dataclass
class Ref:
    """The reference data the history needs, read once from the database."""

    items: dict[str, ItemRef]
    users: dict[str, int]
    departments: list[str]
    queue_prefix: dict[int, str]
    queue_code: dict[int, str]
    emergency_ct_room: int | None
    names: dict[int, str] = field(default_factory=dict)
    slots: list[tuple[int, int, date, str, Any, int, int]] = field(default_factory=list)


def load_ref(conn: Connection) -> Ref:
    """Read items, rooms, queues, users and existing slots (the reference seed must have run)."""
    campus_main = conn.scalar(select(Campus.id).where(Campus.code == "MAIN"))
    queues = {q.id: q for q in conn.execute(select(Queue.id, Queue.campus_id, Queue.prefix, Queue.code))}
    qrooms: dict[int, list[int]] = {}
    for qid, rid in conn.execute(select(QueueRoom.queue_id, QueueRoom.room_id).order_by(QueueRoom.room_id)):
        qrooms.setdefault(qid, []).append(rid)
    items = {}
    cols = (ExamItem.id, ExamItem.code, ExamItem.modality_code, ExamItem.body_part, ExamItem.category,
            ExamItem.queue_id, ExamItem.needs_slot, ExamItem.needs_room, ExamItem.report_template_code)
    for it in conn.execute(select(*cols).where(ExamItem.active.is_(True)).order_by(ExamItem.id)):
        q = queues.get(it.queue_id) if it.queue_id else None
        items[it.code] = ItemRef(it.id, it.code, it.modality_code, it.body_part, it.category, it.queue_id,
                                 it.needs_slot, it.needs_room, it.report_template_code,
                                 q.campus_id if q else int(campus_main or 1), qrooms.get(it.queue_id or -1, []))
    staff = conn.execute(select(User.username, User.id, User.display_name)).all()
    users = {str(u): int(i) for u, i, _ in staff}
    names = {int(i): str(n) for _, i, n in staff}
    depts = list(conn.scalars(select(Department.name).where(Department.kind == "clinical").order_by(Department.id)))
    ect = conn.scalar(select(Room.id).where(Room.code == "CT3"))
    slots = [tuple(r) for r in conn.execute(select(Slot.id, Slot.queue_id, Slot.day, Slot.band, Slot.starts_at,
                                                   Slot.capacity, Slot.booked).order_by(Slot.id))]
    if not items or not users:
        raise RuntimeError("reference data missing: run seed_reference first")
    return Ref(items, users, depts, {q: queues[q].prefix for q in queues}, {q: queues[q].code for q in queues},
               ect, names, slots)  # type: ignore[arg-type]


class Plan:
    """The milestones of one exam; None means it never happens."""

    __slots__ = ("amend", "approver", "author", "cls", "crit", "dept", "doctor", "info", "item", "patient_id",
                 "priority", "room_id", "slot", "t_approve", "t_cancel", "t_checkin", "t_complete", "t_draft",
                 "t_order", "t_start", "t_submit")

    def __init__(self, cls: str, item: ItemRef, t_order: int) -> None:
        self.cls, self.item, self.t_order = cls, item, t_order
        self.priority = "routine"
        self.patient_id = 0
        self.slot: list[Any] | None = None
        self.t_cancel: int | None = None
        self.t_checkin: int | None = None
        self.t_start: int | None = None
        self.t_complete: int | None = None
        self.t_draft: int | None = None
        self.t_submit: int | None = None
        self.t_approve: int | None = None
        self.amend: tuple[int, int, int, str] | None = None
        self.crit: tuple[int, int, int, str, str] | None = None
        self.author = self.approver = 0
        self.room_id: int | None = None
        self.dept = self.doctor = self.info = ""


def weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> list[str]:
    """A list to `rng.choice` from, each value repeated by weight (fast sampling)."""
    out: list[str] = []
    for value, w in pairs:
        out.extend([value] * max(1, round(w * 4)))
    return out


def between(rng: random.Random, lo: int, hi: int) -> int:
    """An int in [lo, hi): like randrange, at a fraction of its cost (called tens of millions of times)."""
    return lo + int(rng.random() * (hi - lo))


def pick(rng: random.Random, seq: Any) -> Any:
    return seq[int(rng.random() * len(seq))]


def lognormal_min(rng: random.Random, median_min: float, sigma: float, cap_min: float) -> int:
    return int(min(rng.lognormvariate(math.log(median_min), sigma), cap_min) * MIN)


class Sampler:
    """Samples plans: classes, items, times and the people who act, all from one seeded `rng`."""

    def __init__(self, rng: random.Random, ref: Ref) -> None:
        self.rng, self.ref = rng, ref
        self.classes = weighted(rng, [(c, s * 100) for c, s in data.CLASS_SHARES])
        self.mix = {c: [ref.items[code] for code in weighted(rng, pairs) if code in ref.items]
                    for c, pairs in data.ITEM_MIX.items()}
        day = [(7, 2), (8, 9), (9, 10), (10, 9), (11, 6), (12, 2), (13, 6), (14, 8), (15, 7), (16, 4), (17, 1)]
        self.day_hours = [int(h) * HOUR for h in weighted(rng, [(str(h), w) for h, w in day])]
        night = [(str(h), 1.0 + 1.5 * (8 <= h <= 22)) for h in range(24)]
        self.er_hours = [int(h) * HOUR for h in weighted(rng, night)]
        u = ref.users
        self.readers = [u[n] for n in ("doctor", "doctor", "doctor2", "doctor2", "senior") if n in u]
        self.sono = u.get("sono") or self.readers[0]
        self.seniors = [u[n] for n in ("senior", "senior", "senior", "head") if n in u]
        self.head = u.get("head") or self.seniors[0]

    def plan(self, day: date, day_start: int, *, slots: Any) -> Plan:
        """One exam ordered on the day that starts at `day_start` (epoch seconds)."""
        rng = self.rng
        cls = pick(rng, self.classes)
        item = pick(rng, self.mix[cls])
        hours = self.er_hours if cls == "emergency" else self.day_hours
        p = Plan(cls, item, day_start + pick(rng, hours) + between(rng, 0, HOUR))
        if cls == "emergency":
            p.priority = "stat" if rng.random() < 0.25 else "urgent"
        elif cls == "inpatient" and rng.random() < 0.05:
            p.priority = "urgent"
        p.dept = "急诊科" if cls == "emergency" else "体检中心" if cls == "health_check" else pick(rng,
            self.ref.departments)
        p.doctor = pick(rng, data.DOCTOR_NAMES)
        p.info = pick(rng, data.CLINICAL_INFO)
        self._schedule(p, day, day_start, slots)
        if cls != "emergency" and rng.random() < 0.03:
            end = p.t_checkin or p.t_order + 2 * HOUR
            p.t_cancel = p.t_order + max(MIN, int((end - p.t_order) * rng.uniform(0.2, 0.95)))
            p.t_checkin = None
            return p
        self._perform(p)
        self._report(p)
        return p

    def _schedule(self, p: Plan, day: date, day_start: int, slots: Any) -> None:
        rng, item = self.rng, p.item
        if item.needs_slot and p.cls != "emergency":
            lead = 0 if rng.random() < 0.3 else min(1 + int(rng.expovariate(0.35)), 10)
            if p.cls == "inpatient":
                lead = min(lead, 2)
            p.slot = slots.book(item.queue_id, p.t_order, day_start, day, lead, rng)
            start = p.slot[4]
            p.t_checkin = max(p.t_order + 5 * MIN, start + between(rng, -40 * MIN, 10 * MIN))
        elif item.needs_room:
            p.t_checkin = p.t_order + between(rng, MIN, 10 * MIN)

    def _perform(self, p: Plan) -> None:
        rng, item = self.rng, p.item
        if p.t_checkin is None:  # no room step: reconstruction starts once a prior is linked
            p.t_start = p.t_order + between(rng, 10 * MIN, 180 * MIN)
            p.t_complete = p.t_start + between(rng, 20 * MIN, 90 * MIN)
            return
        if p.priority == "stat":
            wait = between(rng, MIN, 8 * MIN)
        elif p.cls == "emergency":
            wait = between(rng, 2 * MIN, 25 * MIN)
        else:
            wait = max(MIN, lognormal_min(rng, 22, 0.8, 300))
        p.t_start = p.t_checkin + wait
        lo, hi = data.DURATION_MIN.get(item.modality, (5, 20))
        p.t_complete = p.t_start + between(rng, lo * MIN, hi * MIN + 1)
        if p.cls == "emergency" and item.modality == "CT" and self.ref.emergency_ct_room and rng.random() < 0.7:
            p.room_id = self.ref.emergency_ct_room
        elif item.rooms:
            p.room_id = pick(rng, item.rooms)

    def _report(self, p: Plan) -> None:
        rng, mod = self.rng, p.item.modality
        assert p.t_complete is not None
        if mod == "US" and rng.random() < 0.7:
            p.author = self.sono
        else:
            p.author = pick(rng, self.readers)
        p.approver = pick(rng, self.seniors) if p.author != self.ref.users.get("senior") else self.head
        if p.approver == p.author:
            p.approver = self.head
        if p.cls == "emergency":
            p.t_draft = p.t_complete + between(rng, 5 * MIN, 25 * MIN)
        else:
            median = 600 if p.cls == "health_check" else 70
            p.t_draft = p.t_complete + max(3 * MIN, lognormal_min(rng, median, 0.9, 2880))
        p.t_submit = p.t_draft + between(rng, 2 * MIN, 20 * MIN)
        if p.cls == "emergency":
            p.t_approve = p.t_submit + between(rng, 3 * MIN, 20 * MIN)
        else:
            p.t_approve = p.t_submit + max(2 * MIN, lognormal_min(rng, 45, 1.0, 2880))
        if rng.random() < 0.015:
            t_amend = p.t_approve + between(rng, HOUR, 72 * HOUR)
            t_resub = t_amend + between(rng, 5 * MIN, 40 * MIN)
            p.amend = (t_amend, t_resub, t_resub + between(rng, 5 * MIN, 90 * MIN), pick(rng, data.AMEND_REASONS))
        rate = 0.005 if mod in ("CT", "MR") else 0.001
        if rng.random() < rate:
            raised = p.t_complete + between(rng, 3 * MIN, 40 * MIN)
            late = rng.random() < 0.12
            notified = raised + (between(rng, 11 * MIN, 45 * MIN) if late else between(rng, MIN, 10 * MIN + 1))
            findings = data.CRITICAL_FINDINGS.get(mod, data.CRITICAL_FINDINGS["CT"])
            p.crit = (raised, notified, notified + between(rng, MIN, 20 * MIN), pick(rng, findings),
                      pick(rng, data.NOTIFY_TARGETS))
