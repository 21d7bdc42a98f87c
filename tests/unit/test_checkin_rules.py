"""The check-in taxonomy, the eligibility rule, the queue ordering key and the re-queue rule (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.domain.checkin import (
    REFUSAL_TEXT,
    CheckinRules,
    ExamFacts,
    Ok,
    Refusal,
    Refused,
    TerminalFacts,
    check_eligibility,
    effective_priority,
    listed_for_checkin,
    terminal_scope,
)
from backend.domain.queue_flow import in_current_lines, line_start
from backend.domain.queueing import (
    RequeueRule,
    TicketFacts,
    in_order,
    initial_position,
    people_ahead,
    queue_order_key,
    requeue_position,
)

AT = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # scheduled_at is given in site time; UTC noon-ish is safe
TODAY = date(2026, 11, 27)
TERM = TerminalFacts(code="K1", campus_id=1, queue_ids=frozenset({10}))


def facts(**kw):
    base = {"exam_id": 1, "status": "registered", "paid": True, "needs_room": True, "queue_id": 10, "campus_id": 1,
                "scheduled_at": AT}
    return ExamFacts(**{**base, **kw})


def test_every_reason_has_plain_chinese_text():
    assert set(REFUSAL_TEXT) == set(Refusal)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in REFUSAL_TEXT.values())


@pytest.mark.parametrize(("kw", "terminal", "expected"), [
    ({}, TERM, Ok()),
    ({"status": "cancelled"}, TERM, Refused(Refusal.CANCELLED)),
    ({"status": "arrived", "ticket_status": "waiting"}, TERM, Refused(Refusal.ALREADY_CHECKED_IN)),
    ({"status": "arrived", "ticket_status": "missed"}, TERM, Ok(requeue=True)),
    ({"status": "completed"}, TERM, Refused(Refusal.ALREADY_CHECKED_IN)),
    ({"needs_room": False, "queue_id": None}, TERM, Refused(Refusal.NURSE_DESK)),
    ({"status": "ordered"}, TERM, Refused(Refusal.NURSE_DESK)),
    ({"campus_id": 2}, TERM, Refused(Refusal.WRONG_CAMPUS)),
    ({"queue_id": 11}, TERM, Refused(Refusal.WRONG_TERMINAL)),
    ({}, TerminalFacts(code="K9", campus_id=1, active=False), Refused(Refusal.WRONG_TERMINAL)),
    ({"scheduled_at": AT + timedelta(days=1)}, TERM, Refused(Refusal.NOT_TODAY)),
    ({"scheduled_at": AT + timedelta(minutes=61)}, TERM, Refused(Refusal.TOO_EARLY)),
    ({"scheduled_at": AT - timedelta(minutes=61)}, TERM, Refused(Refusal.TOO_LATE)),
    ({"scheduled_at": AT + timedelta(minutes=61), "patient_class": "emergency"}, TERM, Ok()),
    ({"scheduled_at": None}, TERM, Ok()),
    ({"paid": False}, TERM, Refused(Refusal.NOT_PAID)),
    ({"campus_id": 2, "queue_id": 99}, None, Ok()),
    # Issue 14.8: another day at another campus says "another day", not "go to the other campus".
    ({"campus_id": 2, "scheduled_at": AT + timedelta(days=1)}, TERM, Refused(Refusal.NOT_TODAY)),
    ({"campus_id": 2, "scheduled_at": AT + timedelta(minutes=61)}, TERM, Refused(Refusal.WRONG_CAMPUS)),
    # Issue 14.1: checked in, but its ticket is in no current line: the desk re-issues, a kiosk sends there.
    ({"status": "arrived", "ticket_status": "waiting", "ticket_current": False}, None, Ok(reissue=True)),
    ({"status": "arrived", "ticket_status": None, "ticket_current": False}, None, Ok(reissue=True)),
    ({"status": "arrived", "ticket_status": "missed", "ticket_current": False}, TERM, Refused(Refusal.NURSE_DESK)),
    ({"status": "arrived", "ticket_status": "waiting", "ticket_current": True}, None,
     Refused(Refusal.ALREADY_CHECKED_IN)),
])
def test_check_eligibility(kw, terminal, expected):
    assert check_eligibility(facts(**kw), terminal, at=AT, today=TODAY, rules=CheckinRules()) == expected


def test_an_exam_without_the_patient_is_not_listed_for_check_in():
    assert listed_for_checkin(facts())
    assert not listed_for_checkin(facts(needs_room=False, queue_id=None))


@pytest.mark.parametrize(("day", "today", "inside"), [
    (date(2026, 11, 27), date(2026, 11, 27), True),
    (date(2026, 11, 26), date(2026, 11, 27), True),  # checked in before midnight: still in line
    (date(2026, 11, 25), date(2026, 11, 27), False),  # stale: the desk re-issues it
    (date(2026, 11, 28), date(2026, 11, 27), False),
])
def test_open_tickets_carry_over_one_day_change(day, today, inside):
    assert in_current_lines(day, today=today) is inside
    assert line_start(today) == date(2026, 11, 26)


def test_desk_ignores_window():
    f = facts(scheduled_at=AT + timedelta(hours=5))
    assert check_eligibility(f, None, at=AT, today=TODAY, rules=CheckinRules(ignore_time_window=True)) == Ok()


def test_effective_priority():
    assert effective_priority("routine", "emergency") == "urgent"
    assert effective_priority("stat", "emergency") == "stat"
    assert effective_priority("odd", "outpatient") == "routine"


def t(i, priority="routine", sort=0, line=0):
    return TicketFacts(id=i, priority=priority, sort_at=AT + timedelta(minutes=sort),
                       line_at=AT + timedelta(minutes=line))


@pytest.mark.parametrize(("tickets", "expected"), [
    ([t(1), t(2, "stat", sort=60)], [2, 1]),
    ([t(1, sort=60), t(2, sort=0, line=30)], [2, 1]),
    ([t(1, line=5), t(2, line=1)], [2, 1]),
    ([t(1, "urgent", sort=9), t(2, "stat", sort=9), t(3, sort=0)], [2, 1, 3]),
    ([t(2), t(1)], [1, 2]),
])
def test_queue_order_key(tickets, expected):
    assert [x.id for x in in_order(tickets)] == expected
    assert queue_order_key(tickets[0])[0] in (0, 1, 2)


def test_initial_position_walk_in_uses_check_in_time():
    assert initial_position(scheduled_at=None, checked_in_at=AT) == (AT, AT)


@pytest.mark.parametrize(("rule", "n", "expected_index"), [
    (RequeueRule.AFTER_N, 2, 2), (RequeueRule.AFTER_N, 0, 0), (RequeueRule.AFTER_N, 10, 4), (RequeueRule.END, 2, 4),
])
def test_requeue_position(rule, n, expected_index):
    waiting = [t(1, line=1), t(2, line=2), t(3, sort=60, line=3), t(4, sort=60, line=4)]
    sort_at, line_at = requeue_position(waiting, priority="routine", rule=rule, n=n, now=AT)
    placed = in_order([*waiting, TicketFacts(id=99, priority="routine", sort_at=sort_at, line_at=line_at)])
    assert [x.id for x in placed].index(99) == expected_index
    assert people_ahead(placed, 99) == expected_index


def test_requeue_counts_only_its_own_class_and_empty_line():
    waiting = [t(1, "stat"), t(2, line=1), t(3, line=2)]
    s, ln = requeue_position(waiting, priority="routine", rule=RequeueRule.AFTER_N, n=1, now=AT)
    placed = in_order([*waiting, TicketFacts(id=99, priority="routine", sort_at=s, line_at=ln)])
    assert [x.id for x in placed] == [1, 2, 99, 3]
    assert requeue_position([], priority="routine", rule=RequeueRule.END, n=2, now=AT) == (AT, AT)


@pytest.mark.parametrize(("modalities", "scope"), [
    (frozenset({"CT", "MR", "DX"}), "影像检查"),  # K2 serves no ultrasound queue (issue 14.11)
    (frozenset({"CT", "US"}), "影像检查 · 超声检查"),
    (frozenset({"US"}), "超声检查"),
    (frozenset(), "检查签到"),
])
def test_terminal_scope(modalities, scope):
    assert terminal_scope(modalities) == scope
