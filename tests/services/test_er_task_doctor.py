"""Issue 15 items 1-2: the emergency reminder goes to the doctor who holds the task now (writer, then the
review pool), the turnaround target counts to approval, and the duty roster narrows who is reminded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.db.models import Exam, Report
from backend.domain.errors import Forbidden, InvalidInput
from backend.services.base import transaction
from backend.services.reporting import er_duty, er_reminders, queries
from tests.cockpit_builders import assign_author, make_exam, walk
from tests.services.test_er_reminders import emergency_ct, pushed_to

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=SH)  # a Friday


def submit(svc: Any, exam_id: int) -> None:
    """The author submitted the report: it now waits for review (审核)."""
    with transaction(svc) as tx:
        tx.session.get(Exam, exam_id).report_status = "submitted"  # type: ignore[union-attr]
        report = tx.session.scalars(select(Report).where(Report.exam_id == exam_id)).one()
        report.status, report.submitted_at = "submitted", tx.now


def cleared(notifier: Any) -> list[str]:
    return sorted(r for e in notifier.sent if e.name == "er_reminder_cleared" for r in e.rooms)


def test_after_submission_the_reviewers_are_warned_before_the_deadline_not_the_author(svc, clock, actors, notifier):
    exam_id = emergency_ct(svc, clock)
    assign_author(svc, exam_id, actors["doctor"].id, T0)
    clock.set(T0 + timedelta(minutes=50))
    er_reminders.scan(svc)
    assert len(er_reminders.pending(svc, by=actors["doctor"])) == 1
    submit(svc, exam_id)
    clock.set(T0 + timedelta(minutes=51))
    notifier.sent.clear()
    counts = er_reminders.scan(svc)
    assert counts["shown"] == 2
    assert counts["escalated"] == 0
    assert pushed_to(notifier) == sorted([f"user:{actors['senior'].id}", f"user:{actors['head'].id}"])
    assert cleared(notifier) == [f"user:{actors['doctor'].id}"]  # the author has nothing left to do
    assert er_reminders.pending(svc, by=actors["doctor"]) == []
    assert [r["exam_id"] for r in er_reminders.pending(svc, by=actors["senior"])] == [exam_id]


def test_without_an_author_the_doctors_on_duty_are_reminded_not_the_whole_department(svc, clock, actors, notifier):
    er_duty.create_duty(svc, by=actors["admin"], user_id=actors["doctor2"].id, modality_code="CT",
                        weekdays="1,2,3,4,5", start_time="08:00", end_time="17:00")
    er_duty.create_duty(svc, by=actors["admin"], user_id=actors["doctor"].id, modality_code="CT",
                        weekdays="", start_time="17:00", end_time="08:00")  # nights
    emergency_ct(svc, clock)
    clock.set(T0 + timedelta(minutes=55))
    er_reminders.scan(svc)
    assert pushed_to(notifier) == [f"user:{actors['doctor2'].id}"]


def test_the_roster_covers_nights_across_midnight(svc, clock, actors, notifier):
    er_duty.create_duty(svc, by=actors["admin"], user_id=actors["doctor"].id, modality_code=None,
                        weekdays="5", start_time="17:00", end_time="08:00")  # Friday night, into Saturday
    with transaction(svc, readonly=True) as tx:
        sat_2am = datetime(2026, 11, 28, 2, 0, tzinfo=SH)
        assert er_duty.on_duty_now(tx, "CT", at=sat_2am) == [actors["doctor"].id]
        assert er_duty.on_duty_now(tx, "MR", at=sat_2am + timedelta(days=1)) == []  # Sunday 02:00: not his
        assert er_duty.on_duty_now(tx, "MR", at=T0) == []


def test_opening_the_report_clears_the_others_reminders(svc, clock, actors, notifier):
    emergency_ct(svc, clock)
    clock.set(T0 + timedelta(minutes=55))
    er_reminders.scan(svc)
    [mine] = er_reminders.pending(svc, by=actors["doctor"])
    assert len(er_reminders.pending(svc, by=actors["doctor2"])) == 1
    notifier.sent.clear()
    er_reminders.act(svc, mine["id"], "open", by=actors["doctor"])
    assert er_reminders.pending(svc, by=actors["doctor2"]) == []
    assert f"user:{actors['doctor2'].id}" in cleared(notifier)
    assert f"user:{actors['doctor'].id}" not in cleared(notifier)


def test_claiming_the_report_moves_the_task_to_the_claimer(svc, clock, actors, notifier):
    exam_id = emergency_ct(svc, clock)
    clock.set(T0 + timedelta(minutes=55))
    er_reminders.scan(svc)
    assign_author(svc, exam_id, actors["doctor2"].id, T0 + timedelta(minutes=55))  # doctor2 starts the draft
    clock.set(T0 + timedelta(minutes=56))
    er_reminders.scan(svc)
    assert er_reminders.pending(svc, by=actors["doctor"]) == []
    assert len(er_reminders.pending(svc, by=actors["doctor2"])) == 1


def test_roster_lines_are_checked(svc, actors):
    with pytest.raises(InvalidInput):
        er_duty.create_duty(svc, by=actors["admin"], user_id=actors["clerk"].id, start_time="08:00",
                            end_time="17:00")
    with pytest.raises(InvalidInput):
        er_duty.create_duty(svc, by=actors["admin"], user_id=actors["doctor"].id, weekdays="8",
                            start_time="08:00", end_time="17:00")
    with pytest.raises(InvalidInput):
        er_duty.create_duty(svc, by=actors["admin"], user_id=actors["doctor"].id, start_time="25:00",
                            end_time="17:00")
    d = er_duty.create_duty(svc, by=actors["admin"], user_id=actors["doctor"].id, modality_code="CT",
                            weekdays="5,1", start_time="8:00", end_time="17:00")
    assert (d["weekdays"], d["start_time"]) == ("1,5", "08:00")
    assert [x["id"] for x in er_duty.list_duties(svc, by=actors["admin"])] == [d["id"]]


def test_the_turnaround_target_counts_to_approval(svc, clock, actors):
    exam_id = emergency_ct(svc, clock)
    assign_author(svc, exam_id, actors["doctor"].id, T0)
    submit(svc, exam_id)
    clock.set(T0 + timedelta(minutes=61))
    counts = er_reminders.scan(svc)
    assert counts["escalated"] == 2  # submitted is not done: overdue until approved



def _completed(svc: Any, clock: Any, modality: str, *, at: datetime, **kw: Any) -> int:
    exam_id = make_exam(svc, clock, at, modality, "subspecialty" if modality == "US" else "routine", **kw)
    walk(svc, clock, exam_id, [("registered", at), ("checked_in", at + timedelta(minutes=1)),
                               ("started", at + timedelta(minutes=2)), ("completed", at + timedelta(minutes=10))])
    return exam_id


def test_worklist_pins_emergencies_with_a_countdown_and_leaves_ultrasound_to_its_department(svc, clock, actors):
    early = _completed(svc, clock, "CT", at=T0 - timedelta(hours=3))
    er = _completed(svc, clock, "CT", at=T0 - timedelta(minutes=10), patient_class="emergency")
    us = _completed(svc, clock, "US", at=T0 - timedelta(hours=2))
    clock.set(T0 + timedelta(minutes=15))
    rows = queries.to_write(svc, by=actors["doctor"])
    assert [r["id"] for r in rows] == [er, early]  # pinned on top; ultrasound is 超声科's
    assert (rows[0]["emergency"], rows[0]["countdown"]) == (True, "剩余 45 分钟")
    assert rows[1]["emergency"] is False
    assert [r["id"] for r in queries.to_write(svc, by=actors["sono"])] == [us]
    clock.set(T0 + timedelta(minutes=70))
    assert queries.to_write(svc, by=actors["doctor"])[0]["countdown"] == "超时 10 分钟"
    with transaction(svc, readonly=True) as tx:
        assert queries.exam_summary(tx, er)["countdown"] == "超时 10 分钟"  # the editor's header


def test_overdue_board_lists_late_emergency_reports_with_who_holds_them(svc, clock, actors):
    er = _completed(svc, clock, "CT", at=T0 - timedelta(minutes=10), patient_class="emergency")
    on_time = _completed(svc, clock, "CT", at=T0, patient_class="emergency")
    assign_author(svc, er, actors["doctor"].id, T0)
    submit(svc, er)
    clock.set(T0 + timedelta(minutes=65))
    board = queries.overdue_board(svc, by=actors["head"])
    assert [(r["id"], r["stage_label"], r["holder"], r["countdown"]) for r in board] == [
        (er, "待审核", "审核组", "超时 5 分钟")]
    assert on_time not in [r["id"] for r in board]
    with pytest.raises(Forbidden):
        queries.overdue_board(svc, by=actors["doctor"])
