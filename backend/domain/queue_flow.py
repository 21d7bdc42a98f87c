"""The queue ticket's status (calling) and its one transition table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from backend.domain.catalog import TimelineKind
from backend.domain.machine import StateMachine


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    MISSED = "missed"
    DONE = "done"
    CANCELLED = "cancelled"


class TicketTrigger(StrEnum):
    CALL = "call"
    RECALL = "recall"
    MISS = "miss"
    REQUEUE = "requeue"
    FINISH = "finish"
    CANCEL = "cancel"


TICKET_STATUS_LABELS: Final[Mapping[TicketStatus, str]] = {
    TicketStatus.WAITING: "候检",
    TicketStatus.CALLED: "已叫号",
    TicketStatus.MISSED: "过号",
    TicketStatus.DONE: "已完成",
    TicketStatus.CANCELLED: "已取消",
}

S, T = TicketStatus, TicketTrigger
TICKET_TRANSITIONS: Final[Mapping[tuple[TicketStatus, TicketTrigger], TicketStatus]] = {
    (S.WAITING, T.CALL): S.CALLED,
    (S.CALLED, T.RECALL): S.CALLED,
    (S.CALLED, T.MISS): S.MISSED,
    (S.CALLED, T.REQUEUE): S.WAITING,
    (S.MISSED, T.REQUEUE): S.WAITING,
    (S.WAITING, T.REQUEUE): S.WAITING,  # a stale ticket re-issued at the desk into today's line
    (S.MISSED, T.CALL): S.CALLED,
    (S.CALLED, T.FINISH): S.DONE,
    (S.WAITING, T.FINISH): S.DONE,
    (S.WAITING, T.CANCEL): S.CANCELLED,
    (S.CALLED, T.CANCEL): S.CANCELLED,
    (S.MISSED, T.CANCEL): S.CANCELLED,
}
del S, T

TICKET_TRIGGER_LABELS: Final[Mapping[TicketTrigger, str]] = {
    TicketTrigger.CALL: "叫号",
    TicketTrigger.RECALL: "重呼",
    TicketTrigger.MISS: "过号",
    TicketTrigger.REQUEUE: "重新排队",
    TicketTrigger.FINISH: "完成",
    TicketTrigger.CANCEL: "取消",
}
TICKET_MACHINE: Final = StateMachine("ticket", TICKET_TRANSITIONS, TICKET_STATUS_LABELS, TICKET_TRIGGER_LABELS)


# Still in a line: a cancellation, discontinuation or undone check-in closes it.
OPEN_TICKET: Final = frozenset({TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.MISSED})
# What a hall screen shows: the waiting line, the calls per room, and the missed patients.
SHOWN_ON_SCREEN: Final = frozenset({TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.MISSED})
# A room's load under ultrasound dispatch: patients placed there and not yet done or missed.
ROOM_LOAD: Final = frozenset({TicketStatus.WAITING, TicketStatus.CALLED})
# The timeline rows each trigger writes (a requeue is either the triage desk's or a room transfer).
TICKET_TRIGGER_KINDS: Final[Mapping[TicketTrigger, frozenset[TimelineKind]]] = {
    TicketTrigger.CALL: frozenset({TimelineKind.TICKET_CALLED}),
    TicketTrigger.RECALL: frozenset({TimelineKind.TICKET_RECALLED}),
    TicketTrigger.MISS: frozenset({TimelineKind.TICKET_MISSED}),
    TicketTrigger.REQUEUE: frozenset({TimelineKind.TICKET_REQUEUED, TimelineKind.TICKET_TRANSFERRED}),
    TicketTrigger.FINISH: frozenset({TimelineKind.TICKET_DONE}),
    TicketTrigger.CANCEL: frozenset({TimelineKind.TICKET_CANCELLED}),
}


# Open tickets carry over the day change: a 24-hour emergency room works through midnight, so a line holds
# the open tickets of today and of the day before (numbering restarts each day). An open ticket older than
# that is stale: no line shows or calls it, and the nurse desk re-issues it by checking the exam in again.
CARRY_OVER_DAYS: Final = 1

# The one instruction to a missed patient, on hall screens, kiosks and slips alike: the kiosk re-queues
# a missed patient by itself (US-11), so nobody is sent to a desk for it.
MISSED_INSTRUCTION: Final = "过号患者请到自助机重新签到"


def line_start(today: date) -> date:
    """The oldest ticket day still in the current lines (today's lines on `today`)."""
    return today - timedelta(days=CARRY_OVER_DAYS)


def in_current_lines(day: date, *, today: date) -> bool:
    """Whether an open ticket of `day` still stands in a line on `today`."""
    return line_start(today) <= day <= today


def next_ticket_status(current: TicketStatus, trigger: TicketTrigger) -> TicketStatus:
    """Return the ticket status after `trigger`, or raise InvalidTransition."""
    return TICKET_MACHINE.next(current, trigger)
