"""The one queue ordering rule and where a missed patient re-enters the line (pure functions).

Order: priority (stat, urgent, routine), then `sort_at` (the appointment time, or the check-in time
for walk-ins), then `line_at` (the check-in time; moved only when a missed patient is re-queued), then id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from backend.domain.checkin import PRIORITY_RANK

STEP = timedelta(milliseconds=1)


class RequeueRule(StrEnum):
    AFTER_N = "after_n"
    END = "end"


@dataclass(frozen=True, slots=True)
class TicketFacts:
    id: int
    priority: str
    sort_at: datetime
    line_at: datetime


def queue_order_key(t: TicketFacts) -> tuple[int, datetime, datetime, int]:
    """The sort key of a waiting ticket: smaller goes first."""
    return (PRIORITY_RANK.get(t.priority, len(PRIORITY_RANK)), t.sort_at, t.line_at, t.id)


def in_order(tickets: Sequence[TicketFacts]) -> list[TicketFacts]:
    """Waiting tickets in calling order."""
    return sorted(tickets, key=queue_order_key)


def initial_position(*, scheduled_at: datetime | None, checked_in_at: datetime) -> tuple[datetime, datetime]:
    """(sort_at, line_at) of a new ticket: appointment time first, check-in time breaks ties."""
    return (scheduled_at or checked_in_at, checked_in_at)


def requeue_position(waiting: Sequence[TicketFacts], *, priority: str, rule: RequeueRule, n: int,
                     now: datetime) -> tuple[datetime, datetime]:
    """(sort_at, line_at) that puts a re-queued ticket after `n` waiting patients of its class, or last.

    Only tickets of the same priority class count: higher classes are ahead anyway, lower ones behind.
    """
    rank = PRIORITY_RANK.get(priority, len(PRIORITY_RANK))
    same = [t for t in in_order(waiting) if PRIORITY_RANK.get(t.priority, len(PRIORITY_RANK)) == rank]
    k = len(same) if rule == RequeueRule.END else max(0, min(n, len(same)))
    if not same:
        return (now, now)
    if k >= len(same):
        last = same[-1]
        return (last.sort_at, last.line_at + STEP)
    nxt = same[k]
    if k == 0:
        return (nxt.sort_at, nxt.line_at - STEP)
    prev = same[k - 1]
    if prev.sort_at == nxt.sort_at:
        return (prev.sort_at, prev.line_at + (nxt.line_at - prev.line_at) / 2)
    return (prev.sort_at, prev.line_at + STEP)


def people_ahead(waiting: Sequence[TicketFacts], ticket_id: int) -> int:
    """How many waiting tickets stand before `ticket_id` (0 when it is first or unknown)."""
    for i, t in enumerate(in_order(waiting)):
        if t.id == ticket_id:
            return i
    return 0
