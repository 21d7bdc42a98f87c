"""The queue ticket's status (calling) and its one transition table."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

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


def next_ticket_status(current: TicketStatus, trigger: TicketTrigger) -> TicketStatus:
    """Return the ticket status after `trigger`, or raise InvalidTransition."""
    return TICKET_MACHINE.next(current, trigger)
