"""A small generic finite-state machine: one transition table, one lookup (pynetdicom fsm.py style)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from backend.domain.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)
T = TypeVar("T", bound=StrEnum)


class StateMachine(Generic[S, T]):
    """Wraps a transition table so that every machine refuses illegal triggers the same way."""

    def __init__(
        self, name: str, table: Mapping[tuple[S, T], S], labels: Mapping[S, str],
        trigger_labels: Mapping[T, str] | None = None,
    ) -> None:
        self.name = name
        self.table = table
        self.labels = labels
        self.trigger_labels: Mapping[T, str] = trigger_labels or {}

    def next(self, current: S, trigger: T) -> S:
        try:
            return self.table[(current, trigger)]
        except KeyError:
            raise InvalidTransition(
                self.name, str(current), str(trigger), self.labels.get(current, ""),
                self.trigger_labels.get(trigger, ""),
            ) from None

    def allowed(self, current: S) -> list[T]:
        return [t for (s, t) in self.table if s == current]

    def as_markdown(self) -> str:
        """Render the table for the README, so the docs can't drift from the code."""
        rows = ["| from | trigger | to |", "|---|---|---|"]
        for (src, trig), dst in self.table.items():
            rows.append(f"| {src} ({self.labels[src]}) | {trig} | {dst} ({self.labels[dst]}) |")
        return "\n".join(rows)
