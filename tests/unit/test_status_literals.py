"""No status, timeline kind or event name is written as a string literal outside `backend/domain` (and the
migrations, which must not import code that changes): everything else names the catalogue's enums.

The scan is an AST walk. A literal equal to a catalogue value is a leak unless it stands where it is a
*field name* rather than a value: an index (`state["waiting"]`), a key of a record-shaped dict (one with
any key outside the vocabulary), the value of a dict key, keyword or parameter default that does not name
a status/state/kind (`{"display": "none"}`, `code="exam_started"`, `reason="closed"`), or an element of a
tuple/list/set that also holds some other string (`("now_calling", "waiting", "missed")` are layout blocks).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest

from backend.domain.catalog import EventName, TimelineKind
from backend.domain.critical_flow import CriticalStatus
from backend.domain.exam_flow import ExamStatus
from backend.domain.metrics import MarkKind
from backend.domain.queue_flow import TicketStatus
from backend.domain.report_flow import ReportStatus
from backend.domain.turnaround import ReminderState

ROOT = Path(__file__).resolve().parents[2]
ENUMS: tuple[type[StrEnum], ...] = (ExamStatus, TicketStatus, ReportStatus, CriticalStatus, ReminderState,
                                    TimelineKind, EventName, MarkKind)
VOCABULARY = frozenset(m.value for e in ENUMS for m in e)
SCANNED = ("backend", "panels", "kiosk", "signage", "dashboards", "integrations")
EXEMPT_DIRS = (ROOT / "backend" / "domain", ROOT / "backend" / "db" / "migrations")
# (file, literal): why it may stay.
ALLOWED = {
    # Outbox rows have their own states (pending / done / failed), owned by services/outbox.py (issue 9,
    # item 5, another branch); "done" only collides with TicketStatus.DONE.
    ("backend/services/outbox.py", "done"),
    # The health cloud's own upload states (its API's words, docs/health_cloud_interface.md), not an exam's.
    ("integrations/health_cloud/client.py", "completed"),
    ("integrations/health_cloud/emulator_state.py", "completed"),
    ("integrations/health_cloud/mapping.py", "completed"),
    # The reconstruction emulator's fault switch (RADOPS_RECON_FAULT=none), not a report's state.
    ("backend/config.py", "none"),
    ("backend/entrypoints/listeners/recon_emulator.py", "none"),
    ("integrations/recon/emulator.py", "none"),
}
STATUS_WORDS = ("status", "state", "kind")


def _is_vocab(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VOCABULARY


def _names_status(name: str | None) -> bool:
    return name is not None and any(w in name.lower() for w in STATUS_WORDS)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _parameter_of(args: ast.arguments, default: ast.AST) -> str | None:
    """The name of the parameter whose default value is `default`."""
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
    return next((a.arg for a, d in pairs if d is default), None)


def _is_field_name(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True where the literal names a field or a layout part, not a status value (see the module doc)."""
    here, up = node, parents.get(node)
    while isinstance(up, ast.IfExp | ast.BoolOp):  # `"a" if x else "b"` stands where the IfExp stands
        here, up = up, parents.get(up)
    while isinstance(up, ast.Tuple) and isinstance(parents.get(up), ast.Subscript):
        here, up = up, parents.get(up)  # Literal["recall", "missed"]
    if isinstance(up, ast.Subscript):
        return up.slice is here
    if isinstance(up, ast.Dict):
        if here in up.keys:
            return any(k is None or not _is_vocab(k) for k in up.keys)
        key = up.keys[up.values.index(here)]  # type: ignore[arg-type]
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and not _names_status(key.value)
    if isinstance(up, ast.keyword):
        return not _names_status(up.arg)
    if isinstance(up, ast.arguments):
        return not _names_status(_parameter_of(up, here))
    if isinstance(up, ast.Tuple | ast.List | ast.Set):
        return any(isinstance(e, ast.Constant) and isinstance(e.value, str) and not _is_vocab(e) for e in up.elts)
    return False


def _files() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not any(path.is_relative_to(d) for d in EXEMPT_DIRS):
                yield path


def leaks(source: str, rel: str) -> list[str]:
    """`file:line: 'value'` for every catalogue value written as a literal in a value position."""
    tree = ast.parse(source, filename=rel)
    parents = _parents(tree)
    return [f"{rel}:{n.lineno}: {n.value!r}" for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and _is_vocab(n) and (rel, n.value) not in ALLOWED
            and not _is_field_name(n, parents)]


def test_no_status_literal_outside_the_domain() -> None:
    found = [line for path in _files()
             for line in leaks(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert found == [], "use the domain's enums and sets instead of:\n" + "\n".join(found)


@pytest.mark.parametrize(("source", "leaking"), [
    ('if exam.status != "arrived":\n    pass', ["'arrived'"]),
    ('OPEN = ("ordered", "scheduled")', ["'ordered'", "'scheduled'"]),
    ('q.where(Ticket.status.in_(["waiting", "called"]))', ["'waiting'", "'called'"]),
    ('COLORS = {"none": "light", "draft": "info"}', ["'none'", "'draft'"]),
    ('row = {"status": "done", "id": 1}', ["'done'"]),
    ('Ticket(status="missed")', ["'missed'"]),
    ('timeline.append(tx, exam, "ticket_called", by)', ["'ticket_called'"]),
    ('x.state = "snoozed"', ["'snoozed'"]),
    ('EVENTS = ["ticket_created", "ticket_done"]', ["'ticket_created'", "'ticket_done'"]),
    ('style = {"display": "none"}', []),
    ('state["waiting"]', []),
    ('out = {"waiting": [], "pool": 0}', []),
    ('if block.type in ("now_calling", "waiting"):\n    pass', []),
    ('raise Conflict("msg", code="exam_started")', []),
    ('def f(a: Literal["recall", "missed"]): pass', []),
    ('fig(textinfo="label" if n else "none")', []),
    ('def close(*, reason: str = "closed"): pass', []),
    ('def pick(status: str = "waiting"): pass', ["'waiting'"]),
])
def test_the_scan_itself(source: str, leaking: list[str]) -> None:
    """The rule flags values and spares field names (so the main test can fail, and only when it should)."""
    assert [line.rsplit(": ", 1)[1] for line in leaks(source, "probe.py")] == leaking
