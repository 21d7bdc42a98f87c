"""What a hall screen shows and in what order (QS-1..3): the call per room, the waiting line, the missed list.

Pure: the service loads today's tickets of the screen's queues and the rooms serving them; this decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from backend.domain.queue_flow import SHOWN_ON_SCREEN, TicketStatus
from backend.domain.queueing import TicketFacts, in_order


@dataclass(frozen=True, slots=True)
class ScreenTicket:
    """One of today's tickets of a screen's queues (plain values loaded by the service)."""

    facts: TicketFacts
    status: str
    room_id: int | None
    called_at: datetime | None


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
    waiting = [f.id for f in in_order([t.facts for t in by_status[TicketStatus.WAITING]])]
    missed = [t.facts.id for t in _latest_call_first(by_status[TicketStatus.MISSED], at)]
    return Board(calling=calling, waiting=waiting, missed=missed)
