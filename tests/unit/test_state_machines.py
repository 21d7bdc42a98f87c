"""Every transition table: allowed pairs pass, every other pair raises naming the current state."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from backend.domain.critical_flow import (
    CRITICAL_MACHINE,
    CRITICAL_TRANSITIONS,
    CriticalStatus,
    CriticalTrigger,
)
from backend.domain.errors import InvalidTransition
from backend.domain.exam_flow import EXAM_MACHINE, TRANSITIONS, ExamStatus, Trigger
from backend.domain.outbox import OUTBOX_MACHINE, OUTBOX_TRANSITIONS, OutboxState, OutboxTrigger
from backend.domain.queue_flow import TICKET_MACHINE, TICKET_TRANSITIONS, TicketStatus, TicketTrigger
from backend.domain.report_flow import REPORT_MACHINE, REPORT_TRANSITIONS, ReportStatus, ReportTrigger

MACHINES = [
    (EXAM_MACHINE, TRANSITIONS, ExamStatus, Trigger),
    (TICKET_MACHINE, TICKET_TRANSITIONS, TicketStatus, TicketTrigger),
    (REPORT_MACHINE, REPORT_TRANSITIONS, ReportStatus, ReportTrigger),
    (CRITICAL_MACHINE, CRITICAL_TRANSITIONS, CriticalStatus, CriticalTrigger),
    (OUTBOX_MACHINE, OUTBOX_TRANSITIONS, OutboxState, OutboxTrigger),
]
CASES = [
    pytest.param(machine, table, state, trigger, id=f"{machine.name}-{state}-{trigger}")
    for machine, table, states, triggers in MACHINES
    for state, trigger in itertools.product(states, triggers)
]


@pytest.mark.parametrize(("machine", "table", "state", "trigger"), CASES)
def test_table_walk(machine, table, state, trigger):
    if (state, trigger) in table:
        assert machine.next(state, trigger) == table[(state, trigger)]
    else:
        with pytest.raises(InvalidTransition) as exc:
            machine.next(state, trigger)
        assert exc.value.current == state.value
        assert machine.labels[state] in exc.value.message
        assert machine.trigger_labels[trigger] in exc.value.message


def test_every_state_has_a_label():
    for machine, _table, states, triggers in MACHINES:
        assert set(machine.labels) == set(states)
        assert set(machine.trigger_labels) == set(triggers)


def test_terminal_states_allow_nothing():
    assert EXAM_MACHINE.allowed(ExamStatus.CANCELLED) == []
    assert EXAM_MACHINE.allowed(ExamStatus.COMPLETED) == []
    assert TICKET_MACHINE.allowed(TicketStatus.DONE) == []
    assert CRITICAL_MACHINE.allowed(CriticalStatus.ACKNOWLEDGED) == []
    assert OUTBOX_MACHINE.allowed(OutboxState.DONE) == []


def test_readme_renders_the_tables():
    """The README carries the tables as rendered from code, so the docs cannot drift."""
    readme = (Path(__file__).resolve().parents[2] / "docs" / "state-machines.md").read_text(encoding="utf-8")
    for machine, *_ in MACHINES:
        assert machine.as_markdown() in readme, f"docs/state-machines.md is stale for {machine.name}"
