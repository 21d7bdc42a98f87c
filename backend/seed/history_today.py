"""Today in the seeded hospital: exams placed just around "now" in every state, and today's queue tickets.

Whatever the hour of seeding, every page has something to show: patients waiting (some for over 1.5 h),
exams in progress, emergency reports about to time out, reports awaiting review, an open critical value.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.db.models import QueueTicket
from backend.domain.checkin import effective_priority
from backend.domain.exam_flow import ExamStatus
from backend.domain.numbering import ticket_code
from backend.domain.queue_flow import TicketStatus
from backend.seed import history_data as data
from backend.seed.bulk import BulkLoader, TimeFormat
from backend.seed.history_plan import MIN, Plan, Sampler
from backend.seed.history_pool import SlotBook

MILESTONES = ("t_order", "t_checkin", "t_start", "t_complete", "t_draft", "t_submit", "t_approve")
TICKET_COLS = ("id", "exam_id", "queue_id", "room_id", "first_room_id", "day", "number", "code", "status",
               "priority", "checked_in_at", "sort_at", "called_at", "call_count", "version")
# (patient class, item codes, the last milestone reached, minutes ago (low, high), how many per scale unit)
LIVE = [
    ("outpatient", ("US-ABD", "DR-CHEST", "US-THYROID"), "t_order", (3, 40), 3),
    ("outpatient", ("US-BREAST", "US-ABD", "DR-CHEST", "US-THYROID", "E-US-ABD"), "t_checkin", (5, 60), 5),
    ("outpatient", ("US-BREAST", "DR-CHEST"), "t_checkin", (95, 150), 2),
    ("emergency", ("CT-HEAD", "DR-CHEST"), "t_checkin", (2, 10), 1),
    ("outpatient", ("DR-CHEST", "US-ABD", "US-VASC"), "t_start", (1, 6), 2),
    ("emergency", ("CT-CHEST",), "t_start", (1, 4), 1),
    ("outpatient", ("DR-BONE", "US-THYROID"), "t_complete", (10, 50), 2),
    ("emergency", ("CT-HEAD",), "t_complete", (48, 52), 1),  # report due in about 10 minutes
    ("emergency", ("DR-CHEST",), "t_complete", (35, 45), 1),  # report already overdue
    ("inpatient", ("DR-CHEST", "US-ABD"), "t_draft", (2, 20), 2),
    ("outpatient", ("DR-CHEST", "US-BREAST", "US-ABD"), "t_submit", (5, 60), 3),
    ("outpatient", ("DR-CHEST", "US-THYROID"), "t_approve", (5, 60), 2),
    ("outpatient", ("CT-LN-TR",), "t_order", (10, 90), 1),
    ("outpatient", ("CT-LN-TR",), "t_start", (5, 15), 1),
]


def _times(p: Plan) -> list[int | None]:
    return [getattr(p, m) for m in MILESTONES]


def _place(p: Plan, milestone: str, ago: int, now_ts: int, day_start: int, gap: int) -> None:
    """Shift the plan so that `milestone` happened `ago` seconds before now and the next one is still ahead."""
    times = _times(p)
    k = MILESTONES.index(milestone)
    assert times[k] is not None
    delta = max(now_ts - ago, day_start + MIN) - times[k]  # type: ignore[operator]
    times = [t + delta if t is not None else None for t in times]
    for j in range(k + 1, len(times)):
        t = times[j]
        if t is not None and t <= now_ts:
            push = now_ts + gap - t
            times = [x + push if x is not None and i >= j else x for i, x in enumerate(times)]
    # Keep the exam on today's list: an order from before midnight would carry yesterday's accession day.
    floor = day_start + MIN
    for i, t in enumerate(times):
        if t is not None:
            times[i] = floor = max(t, floor)
    for name, t in zip(MILESTONES, times, strict=True):
        setattr(p, name, t)
    p.amend = None
    p.crit = None


def _plan(sampler: Sampler, cls: str, code: str, t_order: int) -> Plan | None:
    item = sampler.ref.items.get(code)
    if item is None:
        return None
    rng = sampler.rng
    p = Plan(cls, item, t_order)
    p.priority = "urgent" if cls == "emergency" else "routine"
    p.dept = "急诊科" if cls == "emergency" else rng.choice(sampler.ref.departments)
    p.doctor, p.info = rng.choice(data.DOCTOR_NAMES), rng.choice(data.CLINICAL_INFO)
    if item.needs_room:
        p.t_checkin = t_order + rng.randrange(MIN, 8 * MIN)
    sampler._perform(p)
    sampler._report(p)
    return p


def live_plans(sampler: Sampler, slots: SlotBook, *, day: date, day_start: int, now_ts: int,
               scale: int) -> list[Plan]:
    """Exams of today placed around now: each reached one milestone a few minutes ago and waits for the next."""
    rng, out = sampler.rng, []
    for cls, codes, milestone, (lo, hi), count in LIVE:
        for _ in range(count * min(scale, 4)):
            p = _plan(sampler, cls, rng.choice(codes), now_ts - 3 * 3600)
            if p is None or getattr(p, milestone) is None:
                continue
            _place(p, milestone, rng.randrange(lo * MIN, hi * MIN + 1), now_ts, day_start, rng.randrange(3, 25) * MIN)
            out.append(p)
    # An open critical value: raised three minutes ago, not yet notified.
    p = _plan(sampler, "emergency", "CT-CHEST", now_ts - 3 * 3600)
    if p is not None and p.t_complete is not None:
        _place(p, "t_complete", 20 * MIN, now_ts, day_start, 15 * MIN)
        raised = max(p.t_complete + MIN, now_ts - 3 * MIN)
        p.crit = (raised, now_ts + 5 * MIN, now_ts + 15 * MIN, data.CRITICAL_FINDINGS["CT"][0], "值班医师")
        out.append(p)
    return out


def ticket_counter(queue_id: int, day: date) -> str:
    """Counter of a queue's ticket numbers for one day (the check-in service continues it)."""
    return f"ticket:{queue_id}:{day.isoformat()}"


def write_tickets(loader: BulkLoader, checked: list[tuple[int, Plan, ExamStatus, int]], ref: Any, *, today: date,
                  fmt: TimeFormat, next_id: int) -> dict[str, int]:
    """Queue tickets of today's checked-in exams, numbered per queue in check-in order; returns the counters."""
    # line_at (queue tie-break, domain/queueing.py) comes with the kiosk-queue migration; fill it when present.
    with_line = "line_at" in QueueTicket.__table__.c
    loader.declare("queue_tickets", (*TICKET_COLS, "line_at") if with_line else TICKET_COLS)
    numbers: dict[int, int] = {}
    for exam_id, p, status, t_checkin in sorted(checked, key=lambda c: (c[3], c[0])):
        qid = p.item.queue_id
        if qid is None:
            continue
        numbers[qid] = n = numbers.get(qid, 0) + 1
        waiting = status is ExamStatus.ARRIVED
        called = None if waiting else max(t_checkin, (p.t_start or t_checkin) - 2 * MIN)
        room = None if waiting else p.room_id
        sort_at = p.slot[4] if p.slot is not None else t_checkin
        row = (next_id, exam_id, qid, room, room, today.isoformat(), n, ticket_code(ref.queue_prefix[qid], n),
               (TicketStatus.WAITING if waiting else TicketStatus.DONE).value, effective_priority(p.priority, p.cls),
               fmt(t_checkin), fmt(sort_at), fmt(called), 0 if waiting else 1, 1)
        loader.add("queue_tickets", (*row, fmt(t_checkin)) if with_line else row)
        next_id += 1
    return {ticket_counter(qid, today): n for qid, n in numbers.items()}
