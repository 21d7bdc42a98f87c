"""Critical values (危急值): raise, notify once with read-back, acknowledge, the time limit, the approval guard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db.models import ExamEvent
from backend.domain.errors import Conflict, Forbidden, InvalidInput
from backend.services import settings_store
from backend.services.base import transaction
from backend.services.reporting import critical_values
from backend.services.reporting import reports as reporting
from tests.reporting_helpers import exam_at, submitted

FINDING = "右侧大量气胸，纵隔左移（张力性气胸可能）"


def raised(svc, actors, status="completed"):
    exam = exam_at(svc, actors, status)
    return exam, critical_values.raise_value(svc, exam["exam_id"], finding=FINDING, by=actors["doctor"])


def test_raise_notify_acknowledge_with_timeline(svc, actors, clock, notifier):
    exam, cv = raised(svc, actors)
    assert cv["status"] == "raised"
    assert cv["raised_by"] == "医师 刘洋"
    assert cv["within_limit"]
    clock.advance(minutes=6)
    out = critical_values.notify(svc, cv["id"], to="呼吸科 王医生", via="phone", read_back=True, by=actors["doctor"])
    assert out["status"] == "notified"
    assert out["read_back"] is True
    assert out["notified_via_label"] == "电话"
    assert out["minutes_to_notify"] == 6.0
    assert out["within_limit"] is True
    clock.advance(minutes=3)
    out = critical_values.acknowledge(svc, cv["id"], by=actors["senior"], note="临床已处理")
    assert out["status"] == "acknowledged"
    assert out["acknowledged_by"] == "主任医师 赵强"
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(ExamEvent).where(ExamEvent.exam_id == exam["exam_id"],
                                                          ExamEvent.kind.like("critical_%")).order_by(ExamEvent.id))
        events = [(r.kind, r.details.get("within_limit")) for r in rows]
    assert events == [("critical_raised", None), ("critical_notified", True), ("critical_acknowledged", None)]
    assert {"critical_raised", "critical_notified", "critical_acknowledged"} <= set(notifier.names())


@pytest.mark.parametrize(("after", "within"), [
    (timedelta(minutes=10), True),
    (timedelta(minutes=10, seconds=1), False),
    (timedelta(minutes=9, seconds=59), True),
])
def test_the_ten_minute_limit_counts_exactly_ten_minutes(svc, actors, clock, after, within):
    _, cv = raised(svc, actors)
    clock.advance(seconds=after.total_seconds())
    out = critical_values.notify(svc, cv["id"], to="急诊科 李护士", via="system", read_back=False, by=actors["doctor"])
    assert out["within_limit"] is within
    assert out["limit_min"] == 10


def test_the_limit_is_a_setting(svc, actors, clock):
    settings_store.put(svc, "critical.notify_limit_min", 15, by=actors["admin"])
    _, cv = raised(svc, actors)
    clock.advance(minutes=14)
    out = critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"])
    assert out["within_limit"] is True
    assert out["limit_min"] == 15


def test_notification_time_may_be_recorded_afterwards_but_not_in_the_future(svc, actors, clock):
    _, cv = raised(svc, actors)
    clock.advance(minutes=20)
    with pytest.raises(InvalidInput):
        critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"],
                               at=clock() + timedelta(minutes=1))
    # Entered 12 minutes after the call: a time that far back needs a reason (issue 17.4).
    with pytest.raises(InvalidInput) as e:
        critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"],
                               at=clock() - timedelta(minutes=12))
    assert e.value.code == "backdate_reason_required"
    out = critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"],
                                 at=clock() - timedelta(minutes=12), reason="抢救中电话通知，事后补登")
    assert out["minutes_to_notify"] == 8.0
    assert out["notify_late_reason"] == "抢救中电话通知，事后补登"
    assert out["notified_recorded_at"] == clock().isoformat()
    assert out["within_limit"] is True


def test_notifying_twice_is_refused(svc, actors):
    _, cv = raised(svc, actors)
    critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"])
    with pytest.raises(Conflict) as e:
        critical_values.notify(svc, cv["id"], to="李医生", via="sms", read_back=True, by=actors["doctor"])
    assert e.value.code == "already_notified"
    assert "不能重复通知" in e.value.message


def test_acknowledge_needs_a_notification_first_and_happens_once(svc, actors):
    _, cv = raised(svc, actors)
    with pytest.raises(Conflict) as e:
        critical_values.acknowledge(svc, cv["id"], by=actors["doctor"])
    assert e.value.code == "not_notified"
    critical_values.notify(svc, cv["id"], to="王医生", via="in_person", read_back=True, by=actors["doctor"])
    critical_values.acknowledge(svc, cv["id"], by=actors["doctor"])
    with pytest.raises(Conflict) as e:
        critical_values.acknowledge(svc, cv["id"], by=actors["doctor"])
    assert e.value.code == "already_acknowledged"


def test_bad_notification_input_is_refused(svc, actors):
    _, cv = raised(svc, actors)
    with pytest.raises(InvalidInput) as e:
        critical_values.notify(svc, cv["id"], to="王医生", via="pigeon", read_back=True, by=actors["doctor"])
    assert e.value.code == "invalid_channel"
    with pytest.raises(InvalidInput) as e:
        critical_values.notify(svc, cv["id"], to=" ", via="phone", read_back=True, by=actors["doctor"])
    assert e.value.code == "recipient_required"


def test_raising_needs_a_started_exam_a_finding_and_the_permission(svc, actors):
    exam = exam_at(svc, actors, "arrived")
    with pytest.raises(Conflict) as e:
        critical_values.raise_value(svc, exam["exam_id"], finding=FINDING, by=actors["doctor"])
    assert e.value.code == "exam_not_started"
    started = exam_at(svc, actors, "in_progress")
    with pytest.raises(InvalidInput):
        critical_values.raise_value(svc, started["exam_id"], finding="", by=actors["doctor"])
    with pytest.raises(Forbidden):
        critical_values.raise_value(svc, started["exam_id"], finding=FINDING, by=actors["typist"])


def test_open_list_shows_minutes_since_raised(svc, actors, clock):
    _, first = raised(svc, actors)
    clock.advance(minutes=12)
    _, second = raised(svc, actors)
    _, closed = raised(svc, actors)
    critical_values.notify(svc, closed["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"])
    critical_values.acknowledge(svc, closed["id"], by=actors["doctor"])
    clock.advance(minutes=1)
    rows = critical_values.open_values(svc, by=actors["doctor"])
    assert [r["id"] for r in rows] == [first["id"], second["id"]]
    assert rows[0]["minutes_since_raised"] == 13
    assert rows[0]["within_limit"] is False
    assert rows[1]["minutes_since_raised"] == 1
    assert rows[1]["within_limit"] is True


def test_approval_is_blocked_while_a_critical_value_is_not_notified(svc, actors):
    exam = submitted(svc, actors)
    cv = critical_values.raise_value(svc, exam["exam_id"], finding=FINDING, by=actors["doctor"])
    with pytest.raises(Conflict) as e:
        reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    assert e.value.code == "critical_not_notified"
    assert "危急值" in e.value.message
    assert reporting.get(svc, exam["exam_id"], by=actors["senior"])["status"] == "submitted"
    critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"])
    assert reporting.approve(svc, exam["exam_id"], by=actors["senior"])["status"] == "approved"
