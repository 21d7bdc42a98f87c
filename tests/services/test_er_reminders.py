"""Emergency-report reminders: due time, who is reminded, once only, snooze, escalation, clean-up."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.db.models import Exam
from backend.domain.errors import Forbidden, InvalidInput
from backend.services import settings_store, timeline
from backend.services.base import transaction
from backend.services.reporting import er_reminders
from tests.cockpit_builders import assign_author, event, make_exam, walk

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=SH)


def emergency_ct(svc: Any, clock: Any, *, patient_class: str = "emergency", priority: str = "routine") -> int:
    exam_id = make_exam(svc, clock, T0 - timedelta(minutes=40), "CT", "routine", patient_class=patient_class,
                        priority=priority, name="赵急诊")
    walk(svc, clock, exam_id, [("registered", T0 - timedelta(minutes=35)), ("checked_in", T0 - timedelta(minutes=30)),
                               ("started", T0 - timedelta(minutes=20)), ("completed", T0)])
    return exam_id


def pushed_to(notifier: Any) -> list[str]:
    return sorted(r for e in notifier.sent if e.name == "er_reminder" for r in e.rooms)


def kinds(svc: Any, exam_id: int) -> list[str]:
    return [e["kind"] for e in timeline.events_of(svc, exam_id) if e["kind"].startswith("er_")]


def test_due_time_is_set_when_the_exam_ends(svc: Any, clock: Any) -> None:
    exam_id = emergency_ct(svc, clock)
    with transaction(svc) as tx:
        assert tx.session.get(Exam, exam_id).report_due_at == T0 + timedelta(minutes=60)  # type: ignore[union-attr]


def test_assigned_reader_is_reminded_once_at_the_lead_time(svc: Any, clock: Any, actors: Any, notifier: Any) -> None:
    exam_id = emergency_ct(svc, clock)
    assign_author(svc, exam_id, actors["doctor"].id, T0)
    clock.set(T0 + timedelta(minutes=49))
    assert er_reminders.scan(svc)["shown"] == 0
    clock.set(T0 + timedelta(minutes=50))
    notifier.sent.clear()
    assert er_reminders.scan(svc)["shown"] == 1
    assert er_reminders.scan(svc)["shown"] == 0  # a second run (or scheduler) sends nothing again
    assert pushed_to(notifier) == [f"user:{actors['doctor'].id}"]
    [r] = er_reminders.pending(svc, by=actors["doctor"])
    assert (r["patient"], r["minutes_left"], r["exam_id"]) == ("赵急诊", 10, exam_id)
    assert er_reminders.pending(svc, by=actors["doctor2"]) == []
    assert kinds(svc, exam_id) == ["er_reminder_shown"]


def test_unassigned_exam_reminds_the_departments_radiologists(svc: Any, clock: Any, actors: Any,
                                                              notifier: Any) -> None:
    emergency_ct(svc, clock, patient_class="inpatient", priority="stat")
    clock.set(T0 + timedelta(minutes=55))
    er_reminders.scan(svc)
    rooms = pushed_to(notifier)
    assert f"user:{actors['doctor'].id}" in rooms
    assert f"user:{actors['doctor2'].id}" in rooms
    assert f"user:{actors['sono'].id}" not in rooms  # 超声科 reads ultrasound only
    assert f"user:{actors['nurse'].id}" not in rooms


def test_routine_outpatient_gets_no_reminder(svc: Any, clock: Any, notifier: Any) -> None:
    emergency_ct(svc, clock, patient_class="outpatient")
    clock.set(T0 + timedelta(hours=5))
    assert er_reminders.scan(svc) == {"shown": 0, "resumed": 0, "escalated": 0, "closed": 0}


def test_lead_time_is_a_setting(svc: Any, clock: Any, actors: Any) -> None:
    settings_store.put(svc, "er.reminder_lead_min", 20, by=actors["admin"])
    exam_id = emergency_ct(svc, clock)
    assign_author(svc, exam_id, actors["doctor"].id, T0)
    clock.set(T0 + timedelta(minutes=40))
    assert er_reminders.scan(svc)["shown"] == 1


def test_acknowledge_snooze_and_open(svc: Any, clock: Any, actors: Any) -> None:
    exam_id = emergency_ct(svc, clock)
    assign_author(svc, exam_id, actors["doctor"].id, T0)
    clock.set(T0 + timedelta(minutes=52))
    er_reminders.scan(svc)
    [r] = er_reminders.pending(svc, by=actors["doctor"])
    with pytest.raises(Forbidden):
        er_reminders.act(svc, r["id"], "ack", by=actors["doctor2"])
    with pytest.raises(InvalidInput):
        er_reminders.act(svc, r["id"], "snooze", by=actors["doctor"])
    er_reminders.act(svc, r["id"], "snooze", by=actors["doctor"], reason="正在处理另一急诊", snooze_min=3)
    assert er_reminders.pending(svc, by=actors["doctor"]) == []
    clock.advance(minutes=3)
    assert er_reminders.scan(svc)["resumed"] == 1
    assert len(er_reminders.pending(svc, by=actors["doctor"])) == 1
    opened = er_reminders.act(svc, r["id"], "open", by=actors["doctor"])
    assert opened["url"] == f"/panels/reports/{r['accession']}"
    er_reminders.act(svc, r["id"], "ack", by=actors["doctor"])
    assert er_reminders.pending(svc, by=actors["doctor"]) == []
    assert kinds(svc, exam_id) == ["er_reminder_shown", "er_reminder_snoozed", "er_reminder_shown",
                                   "er_reminder_opened", "er_reminder_acknowledged"]


def test_overdue_escalates_to_seniors_and_approval_clears(svc: Any, clock: Any, actors: Any, notifier: Any) -> None:
    exam_id = emergency_ct(svc, clock)
    assign_author(svc, exam_id, actors["doctor"].id, T0)
    clock.set(T0 + timedelta(minutes=50))
    er_reminders.scan(svc)
    clock.set(T0 + timedelta(minutes=60))
    notifier.sent.clear()
    assert er_reminders.scan(svc)["escalated"] == 2
    assert pushed_to(notifier) == sorted([f"user:{actors['senior'].id}", f"user:{actors['head'].id}"])
    assert "er_reminder_escalated" in kinds(svc, exam_id)
    event(svc, clock, exam_id, "report_approved", T0 + timedelta(minutes=61))
    notifier.sent.clear()
    assert er_reminders.scan(svc)["closed"] == 3
    assert notifier.names().count("er_reminder_cleared") == 3
    assert er_reminders.pending(svc, by=actors["doctor"]) == []
