"""A hall screen's Socket.IO client joined by campus hears every ticket event, with no patient names;
the screen page and its re-sync callback read the state from the database (QS-1..3)."""

from __future__ import annotations

import json
from typing import Any

from backend.domain.catalog import EventName
from backend.realtime import socketio
from backend.services import auth
from backend.services.orders import registration
from backend.services.patient_flow import calling, checkin, screens
from tests.conftest import PASSWORDS
from tests.helpers import register
from tests.screen_helpers import checked_in, room_id

NAMES = ("张小明", "欧阳娜娜")


def _actors(svc: Any) -> dict[str, Any]:
    return {u: auth.login(svc, u, PASSWORDS[u]) for u in ("clerk", "nurse", "tech")}


def test_screen_client_gets_ticket_events_without_names(app: Any) -> None:
    svc = app.extensions["radops"]
    actors = _actors(svc)
    info, _layout = screens.screen_view(svc, "HALL-MAIN")
    east = screens.screen_view(svc, "HALL-EAST")[0]
    screen = socketio.test_client(app, query_string=f"campus={info['campus_id']}&screen={info['id']}")
    other = socketio.test_client(app, query_string=f"campus={east['campus_id']}")
    try:
        for name in NAMES:
            checked_in(svc, actors, name)
        ticket = calling.call_next(svc, room_id(svc, "DR1"), by=actors["tech"])
        calling.mark_missed(svc, ticket["ticket_id"], by=actors["tech"])
        received = screen.get_received()
        names = [m["name"] for m in received]
        assert names.count("ticket_created") == 2
        assert "ticket_called" in names
        assert "ticket_missed" in names
        called = next(m["args"][0] for m in received if m["name"] == "ticket_called")
        assert called["ticket_id"] == ticket["ticket_id"]
        assert called["campus_id"] == info["campus_id"]
        wire = json.dumps([m["args"] for m in received], ensure_ascii=False)
        assert not any(n in wire or n[0] + "*" in wire for n in NAMES)  # names never travel to public rooms
        assert other.get_received() == []  # the east campus hears nothing of the main hall
    finally:
        screen.disconnect()
        other.disconnect()
    state = screens.screen_state(svc, info["id"])
    assert [t["code"] for t in state["missed"]] == [ticket["code"]]


def test_screen_page_is_public_and_the_resync_callback_renders_masked(app: Any, client: Any) -> None:
    svc = app.extensions["radops"]
    actors = _actors(svc)
    checked_in(svc, actors, "张小明")
    page = client.get("/screens/HALL-MAIN")
    assert page.status_code == 200  # no login needed
    from signage import hall_blocks

    info, layout = screens.screen_view(svc, "HALL-MAIN")
    block = layout.block("waiting")
    assert block is not None
    rendered = json.dumps(hall_blocks.waiting(screens.screen_state(svc, info["id"]),
                                              hall_blocks.block_metrics(layout, block)),
                          default=lambda c: c.to_plotly_json(), ensure_ascii=False)
    assert "张*明" in rendered
    assert "张小明" not in rendered


def test_a_cancelled_exam_leaves_the_hall_screen_at_once(app: Any) -> None:
    """Cancelling a checked-in exam publishes ticket_cancelled to the campus; the screen page listens to it
    and re-reads a state without that ticket (before, it stayed until the 30 s re-sync)."""
    from signage import hall_screen

    svc = app.extensions["radops"]
    actors = _actors(svc)
    info = screens.screen_view(svc, "HALL-MAIN")[0]
    checked_in(svc, actors, "张小明")
    exam = register(svc, actors["clerk"], "DR-CHEST", name="欧阳娜娜")
    leaving = checkin.check_in_exam(svc, exam["exam_id"], None, by=actors["nurse"])["ticket"]
    assert leaving["code"] in [t["code"] for t in screens.screen_state(svc, info["id"])["waiting"]]
    screen = socketio.test_client(app, query_string=f"campus={info['campus_id']}&screen={info['id']}")
    try:
        registration.cancel(svc, exam["exam_id"], reason="患者放弃检查", by=actors["clerk"])
        received = screen.get_received()
    finally:
        screen.disconnect()
    cancelled = [m["args"][0] for m in received if m["name"] == "ticket_cancelled"]
    assert [(c["ticket_id"], c["code"], c["status"]) for c in cancelled] == [
        (leaving["ticket_id"], leaving["code"], "cancelled")]
    assert "欧阳" not in json.dumps(received, ensure_ascii=False)  # a public room: no names
    assert EventName.TICKET_CANCELLED in hall_screen.TICKET_EVENTS  # the page re-reads on it
    waiting = [t["code"] for t in screens.screen_state(svc, info["id"])["waiting"]]
    assert leaving["code"] not in waiting
    assert len(waiting) == 1  # the other patient stays
