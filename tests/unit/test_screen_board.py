"""What a hall screen shows, in what order (domain/screen_board.py), and the status sets behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.domain.exam_flow import EXAM_MACHINE, NO_REPORT_EXPECTED, OPEN_EXAM, ExamStatus, awaiting_start
from backend.domain.queue_flow import OPEN_TICKET, SHOWN_ON_SCREEN, TICKET_MACHINE, TicketStatus
from backend.domain.queueing import TicketFacts
from backend.domain.screen_board import ScreenTicket, board, shown_on_screen

AT = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def ticket(id_: int, status: str, *, room: int | None = None, called_min: int | None = None,
           priority: str = "routine", sort_min: int = 0) -> ScreenTicket:
    facts = TicketFacts(id=id_, priority=priority, sort_at=AT + timedelta(minutes=sort_min), line_at=AT)
    called = AT + timedelta(minutes=called_min) if called_min is not None else None
    return ScreenTicket(facts=facts, status=status, room_id=room, called_at=called)


def test_each_room_shows_its_latest_call_and_rooms_keep_their_order() -> None:
    shown = board([ticket(1, "called", room=10, called_min=1), ticket(2, "called", room=10, called_min=5),
                   ticket(3, "called", room=20, called_min=2)], [20, 10, 30], at=AT)
    assert list(shown.calling.items()) == [(20, 3), (10, 2), (30, None)]


def test_waiting_in_queue_order_and_missed_latest_call_first() -> None:
    shown = board([ticket(1, "waiting", sort_min=5), ticket(2, "waiting", sort_min=9, priority="stat"),
                   ticket(3, "waiting", sort_min=1), ticket(4, "missed", called_min=1),
                   ticket(5, "missed", called_min=7)], [], at=AT)
    assert shown.waiting == [2, 3, 1]
    assert shown.missed == [5, 4]


def test_finished_and_cancelled_tickets_leave_the_screen() -> None:
    shown = board([ticket(1, "done", room=10, called_min=1), ticket(2, "cancelled"), ticket(3, "waiting")],
                  [10], at=AT)
    assert shown.calling == {10: None}
    assert shown.waiting == [3]
    assert shown.missed == []
    assert not shown_on_screen("cancelled")
    assert shown_on_screen("missed")


def test_open_sets_are_the_states_a_trigger_may_still_leave() -> None:
    """Open tickets and open exams are exactly the non-terminal states of their machines."""
    assert {s for s in TicketStatus if TICKET_MACHINE.allowed(s)} == OPEN_TICKET
    assert {s for s in ExamStatus if EXAM_MACHINE.allowed(s)} == OPEN_EXAM
    assert SHOWN_ON_SCREEN <= OPEN_TICKET
    assert not NO_REPORT_EXPECTED & OPEN_EXAM


def test_only_a_checked_in_exam_awaits_its_start() -> None:
    assert [s for s in ExamStatus if awaiting_start(s)] == [ExamStatus.ARRIVED]


def test_one_visit_is_one_line_on_the_screen() -> None:
    """Issue 15 item 5: a patient's exams in one room share a number; the screen lists the number once (the
    same number in the pool, or another room's, is another line)."""
    def t(id_: int, status: str, room: int | None, code: str, sort_min: int) -> ScreenTicket:
        base = ticket(id_, status, room=room, called_min=1 if status == "missed" else None, sort_min=sort_min)
        return ScreenTicket(facts=base.facts, status=status, room_id=room, called_at=base.called_at, code=code)

    shown = board([t(1, "waiting", 10, "RX001", 1), t(2, "waiting", 10, "RX001", 1), t(3, "waiting", 20, "RX001", 2),
                   t(4, "waiting", None, "JZ001", 3), t(5, "waiting", None, "JZ001", 4),
                   t(6, "missed", 10, "RX009", 0), t(7, "missed", 10, "RX009", 0)], [10, 20], at=AT)
    assert shown.waiting == [1, 3, 4, 5]
    assert shown.missed == [6]
