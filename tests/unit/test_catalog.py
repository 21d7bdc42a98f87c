"""The event catalogue: what the services publish is what the pages listen to, audience by audience.

"Published" is read from the code: the timeline kinds and event names the services name (directly or through
the domain's trigger tables), each mapped to its event by `TIMELINE_EVENT`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backend.domain.catalog import LISTENS, TIMELINE_EVENT, UNHEARD, Audience, EventName, TimelineKind, listens
from backend.domain.exam_flow import TRIGGER_EVENT, Trigger
from backend.domain.metrics import COUNTED
from backend.domain.queue_flow import TICKET_TRANSITIONS, TICKET_TRIGGER_KINDS, TicketTrigger
from backend.domain.turnaround import REMINDER_TIMELINE

ROOT = Path(__file__).resolve().parents[2]
# Domain tables the services index to pick a timeline kind: using one publishes all of its kinds.
KIND_TABLES = {"TRIGGER_EVENT": set(TRIGGER_EVENT.values()), "REMINDER_TIMELINE": set(REMINDER_TIMELINE.values())}
PAGES = {
    Audience.HALL_SCREEN: "signage/hall_screen.py",
    Audience.ROOM_DESK: "panels/room_desk.py",
    Audience.US_ROOM: "panels/us_room.py",
    Audience.TRIAGE_BOARD: "panels/triage.py",
    Audience.EXAM_LIST: "panels/exam_list.py",
    Audience.COCKPIT: "dashboards/cockpit.py",
    Audience.ER_POPUP: "panels/er_popup.py",
}
# Pages that show tickets by status (a line, the calls, the missed list, the pool).
LINE_PAGES = (Audience.HALL_SCREEN, Audience.ROOM_DESK, Audience.US_ROOM, Audience.TRIAGE_BOARD)


def _named_in_services() -> tuple[set[TimelineKind], set[EventName]]:
    kinds: set[TimelineKind] = set()
    names: set[EventName] = set()
    for path in (ROOT / "backend" / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "TimelineKind":
                    kinds.add(TimelineKind[node.attr])
                elif node.value.id == "EventName":
                    names.add(EventName[node.attr])
            elif isinstance(node, ast.Name) and node.id in KIND_TABLES:
                kinds |= KIND_TABLES[node.id]
    return kinds, names


def published() -> set[EventName]:
    kinds, names = _named_in_services()
    return names | {e for k in kinds if (e := TIMELINE_EVENT[k]) is not None}


def heard() -> set[EventName]:
    return set().union(*LISTENS.values())


def test_every_timeline_kind_has_its_event_entry() -> None:
    assert set(TIMELINE_EVENT) == set(TimelineKind)


def test_every_catalogued_event_is_published() -> None:
    assert set(EventName) - published() == set()


def test_pages_listen_only_to_published_events() -> None:
    for audience, names in LISTENS.items():
        assert names <= published(), f"{audience} listens to names never published: {names - published()}"


def test_every_published_event_is_heard_or_declared_unheard() -> None:
    unheard = published() - heard()
    assert unheard == set(UNHEARD), f"published but heard by no page (listen, or list in UNHEARD): {unheard}"


@pytest.mark.parametrize("audience", LINE_PAGES)
def test_pages_with_a_line_hear_every_ticket_status_change(audience: Audience) -> None:
    """A ticket created, or moved to another status by any trigger, changes what these pages show."""
    changes = {k for (src, trig), dst in TICKET_TRANSITIONS.items() if dst != src for k in TICKET_TRIGGER_KINDS[trig]}
    expected = {TIMELINE_EVENT[k] for k in changes | {TimelineKind.TICKET_CREATED}}
    assert EventName.TICKET_CANCELLED in expected
    assert expected <= LISTENS[audience], f"{audience} misses {expected - LISTENS[audience]}"


def test_the_exam_list_hears_every_procedure_status_change() -> None:
    expected = {TIMELINE_EVENT[TRIGGER_EVENT[t]] for t in Trigger}
    assert expected <= LISTENS[Audience.EXAM_LIST]


def test_every_ticket_trigger_names_its_timeline_rows() -> None:
    assert set(TICKET_TRIGGER_KINDS) == set(TicketTrigger)


@pytest.mark.parametrize(("audience", "path"), PAGES.items())
def test_each_page_subscribes_with_its_audience(audience: Audience, path: str) -> None:
    """The page's list of events is the catalogue's (the literal scan forbids spelling names out)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "listens"]
    assert [ast.unparse(c.args[0]) for c in calls] == [f"Audience.{audience.name}"]
    assert listens(audience) == sorted(LISTENS[audience])


def test_cockpit_marks_keep_their_timeline_names() -> None:
    """`rollups.rebuild_all` copies a timeline row's kind into its mark: the names must be equal."""
    assert all(mark.value == kind.value for kind, mark in COUNTED.items())
