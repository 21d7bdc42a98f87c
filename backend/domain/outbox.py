"""Outbound work (outbox rows): states, the one transition table, and the retry policy (back-off, dead letter).

A row is pending until a worker leases it; the lease ends in done, in pending again (a failure with
attempts left, or a release), or in dead (no attempts left, or a failure that retrying cannot cure).
A dead row waits for a person to retry it from the ledger page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from backend.domain.machine import StateMachine


class OutboxState(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    DONE = "done"
    DEAD = "dead"


class OutboxTrigger(StrEnum):
    CLAIM = "claim"  # a worker leases a due row, or takes over a row whose lease expired
    SUCCEED = "succeed"
    FAIL = "fail"  # retry later
    GIVE_UP = "give_up"  # no attempts left, or the partner refused for good
    RELEASE = "release"  # the worker hands the row back untried
    RETRY = "retry"  # a person sends a dead row again


OUTBOX_STATE_LABELS: Final[Mapping[OutboxState, str]] = {
    OutboxState.PENDING: "待发送",
    OutboxState.LEASED: "发送中",
    OutboxState.DONE: "已发送",
    OutboxState.DEAD: "发送失败（已停止重试）",
}

S, T = OutboxState, OutboxTrigger
OUTBOX_TRANSITIONS: Final[Mapping[tuple[OutboxState, OutboxTrigger], OutboxState]] = {
    (S.PENDING, T.CLAIM): S.LEASED,
    (S.LEASED, T.CLAIM): S.LEASED,
    (S.LEASED, T.SUCCEED): S.DONE,
    (S.LEASED, T.FAIL): S.PENDING,
    (S.LEASED, T.GIVE_UP): S.DEAD,
    (S.LEASED, T.RELEASE): S.PENDING,
    (S.DEAD, T.RETRY): S.PENDING,
}
del S, T

OUTBOX_TRIGGER_LABELS: Final[Mapping[OutboxTrigger, str]] = {
    OutboxTrigger.CLAIM: "领取",
    OutboxTrigger.SUCCEED: "发送成功",
    OutboxTrigger.FAIL: "发送失败待重试",
    OutboxTrigger.GIVE_UP: "停止重试",
    OutboxTrigger.RELEASE: "归还",
    OutboxTrigger.RETRY: "重新发送",
}
OUTBOX_MACHINE: Final = StateMachine("outbox", OUTBOX_TRANSITIONS, OUTBOX_STATE_LABELS, OUTBOX_TRIGGER_LABELS)


def next_outbox_state(current: OutboxState, trigger: OutboxTrigger) -> OutboxState:
    """Return the row's state after `trigger`, or raise InvalidTransition."""
    return OUTBOX_MACHINE.next(current, trigger)


class GiveUp(Exception):
    """Raised by an outbox handler when retrying cannot help (the partner refused the content for good)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a unit of work is tried and how long to wait between tries.

    The wait after the n-th failed attempt is `first_delay * factor**(n-1)`, never more than `max_delay`;
    after `max_attempts` attempts the row is dead. A lease that expires counts as an attempt, so a row
    that crashes its worker every time is dead-lettered too.
    """

    max_attempts: int = 10
    first_delay: timedelta = timedelta(minutes=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=6)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.factor < 1 or self.first_delay <= timedelta(0):
            raise ValueError("RetryPolicy needs max_attempts >= 1, factor >= 1 and a positive first delay")

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next try after `attempts` failed attempts (attempts >= 1)."""
        n = max(attempts, 1) - 1
        # Compare in seconds before multiplying so that a large n never overflows timedelta.
        seconds = self.first_delay.total_seconds() * (self.factor ** min(n, 64))
        return min(self.max_delay, timedelta(seconds=min(seconds, self.max_delay.total_seconds())))

    def exhausted(self, attempts: int) -> bool:
        """Whether a row with `attempts` attempts made may not be tried again."""
        return attempts >= self.max_attempts
