"""Domain events published after a transaction commits, and the Socket.IO rooms they reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """`name` is snake_case past tense (exam_called); `rooms` say who should hear it."""

    name: str
    payload: dict[str, Any]
    rooms: tuple[str, ...] = field(default=())


def exam_rooms(*, campus_id: int | None, room_id: int | None = None, queue_id: int | None = None) -> tuple[str, ...]:
    """Rooms interested in any change to an exam: lists, the cockpit, its campus, room and queue."""
    rooms = ["exams", "dashboard"]
    if campus_id is not None:
        rooms.append(f"campus:{campus_id}")
    if room_id is not None:
        rooms.append(f"room:{room_id}")
    if queue_id is not None:
        rooms.append(f"queue:{queue_id}")
    return tuple(rooms)
