"""Domain events published after a transaction commits, and the Socket.IO rooms they reach."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.domain.catalog import EventName


@dataclass(frozen=True, slots=True)
class Event:
    """`name` comes from the catalogue (domain/catalog.py); `rooms` say who should hear it."""

    name: EventName
    payload: dict[str, Any]
    rooms: tuple[str, ...] = field(default=())


# Rooms anyone may join by query string (hall screens, kiosks, room doors): they hear only the
# whitelisted fields below, never accessions, statuses of reports, reasons or notes.
PUBLIC_ROOM_PREFIXES = ("screen:", "room:", "queue:", "campus:", "kiosk:")
PUBLIC_FIELDS = frozenset({"kind", "at", "ticket_id", "code", "status", "queue_id", "room_id", "campus_id",
                           "from_room_id", "call_count"})


def exam_rooms(*, campus_id: int | None = None, room_id: int | None = None,
               queue_id: int | None = None) -> tuple[str, ...]:
    """Rooms that hear every change to an exam: the staff exam lists and the cockpit (signed-in only)."""
    return ("exams", "dashboard")


def ticket_rooms(*, queue_id: int, campus_id: int, room_ids: Iterable[int | None] = ()) -> tuple[str, ...]:
    """Rooms that hear a ticket event: its queue and campus (hall screens), the rooms it was or is placed in,
    the triage board, the staff exam lists and the cockpit."""
    rooms = [f"queue:{queue_id}", f"campus:{campus_id}", "triage", "exams", "dashboard"]
    rooms += [f"room:{rid}" for rid in sorted({r for r in room_ids if r is not None})]
    return tuple(rooms)


def is_public(room: str) -> bool:
    return room.startswith(PUBLIC_ROOM_PREFIXES)


def for_audiences(event: Event) -> list[Event]:
    """Split an event: staff rooms get it whole, public rooms a copy with only the public fields."""
    staff = tuple(r for r in event.rooms if not is_public(r))
    public = tuple(r for r in event.rooms if is_public(r))
    out = [Event(event.name, event.payload, staff)] if staff else []
    if public:
        out.append(Event(event.name, {k: v for k, v in event.payload.items() if k in PUBLIC_FIELDS}, public))
    return out
