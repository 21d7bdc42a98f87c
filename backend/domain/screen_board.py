"""What a hall screen shows and in what order (QS-1..3): the call per room, the waiting line, the missed list.

Pure: the service loads today's tickets of the screen's queues and the rooms serving them; this decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from backend.domain.queue_flow import SHOWN_ON_SCREEN, TicketStatus
from backend.domain.queueing import TicketFacts, in_order


@dataclass(frozen=True, slots=True)
class ScreenTicket:
    """One of today's tickets of a screen's queues (plain values loaded by the service)."""

    facts: TicketFacts
    status: str
    room_id: int | None
    called_at: datetime | None
    code: str = ""  # one patient's exams in one room share a number (issue 15 item 5): shown once


@dataclass(frozen=True, slots=True)
class Board:
    """Ticket ids per block: `calling` maps each room (in the given order) to its current call or None."""

    calling: dict[int, int | None]
    waiting: list[int]
    missed: list[int]


def shown_on_screen(status: str) -> bool:
    return TicketStatus(status) in SHOWN_ON_SCREEN


def _latest_call_first(tickets: Iterable[ScreenTicket], at: datetime) -> list[ScreenTicket]:
    # A ticket with no call time (never expected) sorts as if called now, as the newest.
    return sorted(tickets, key=lambda t: t.called_at or at, reverse=True)


def board(tickets: Sequence[ScreenTicket], room_ids: Sequence[int], *, at: datetime) -> Board:
    """Each room shows its latest call; waiting in queue order; missed by latest call first."""
    by_status: dict[TicketStatus, list[ScreenTicket]] = {s: [] for s in TicketStatus}
    for t in tickets:
        if shown_on_screen(t.status):
            by_status[TicketStatus(t.status)].append(t)
    called = _latest_call_first(by_status[TicketStatus.CALLED], at)
    calling = {rid: next((t.facts.id for t in called if t.room_id == rid), None) for rid in room_ids}
    waiting = _once(in_order([t.facts for t in by_status[TicketStatus.WAITING]]), by_status[TicketStatus.WAITING])
    missed = _once([t.facts for t in _latest_call_first(by_status[TicketStatus.MISSED], at)],
                   by_status[TicketStatus.MISSED])
    return Board(calling=calling, waiting=waiting, missed=missed)


def _once(ordered: Sequence[TicketFacts], tickets: Sequence[ScreenTicket]) -> list[int]:
    """Ticket ids in order, a visit's number once: tickets of one room with one number are one patient."""
    by_id = {t.facts.id: t for t in tickets}
    seen: set[tuple[int, str]] = set()
    out = []
    for f in ordered:
        t = by_id[f.id]
        if t.room_id is not None and t.code:
            if (t.room_id, t.code) in seen:
                continue
            seen.add((t.room_id, t.code))
        out.append(f.id)
    return out


# Public screens flag priority patients (issue 15 item 7) without telling the hall more than it needs:
# 危重 and 急诊 show 急诊, the other classes (老人, 孕妇, 军人) a plain 优先. Names stay masked.
SCREEN_FLAG_URGENT: Final = "急诊"
SCREEN_FLAG_PRIORITY: Final = "优先"


def screen_flag(classes: Sequence[str]) -> str:
    """The hall screen's mark for a patient's priority classes ('' for an ordinary patient)."""
    if {"critical", "emergency"} & set(classes):
        return SCREEN_FLAG_URGENT
    return SCREEN_FLAG_PRIORITY if classes else ""
