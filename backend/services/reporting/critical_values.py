"""Critical values (危急值): raise from an exam, record the notification (with read-back), acknowledge.

Timeline kinds: critical_raised, critical_notified, critical_acknowledged. Whether the notification
came in time is `domain.critical.notified_within` against the setting `critical.notify_limit_min`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.db.models import CriticalValue, Exam, Patient
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.critical import notified_within
from backend.domain.critical_flow import (
    CRITICAL_STATUS_LABELS,
    NOTIFY_CHANNELS,
    OPEN_CRITICAL,
    URGENCY_LABELS,
    CriticalStatus,
    CriticalTrigger,
    awaiting_notice,
    next_critical_status,
)
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.exam_flow import EXAM_STATUS_LABELS, ExamStatus, performed
from backend.domain.metrics import backdated
from backend.domain.permissions import Perm
from backend.services import audit, settings_store, timeline
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)


def _text(value: str, label: str, code: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{label}", code=code)
    if len(value) > limit:
        raise InvalidInput(f"{label}不能超过 {limit} 字", code=code)
    return value


def raise_value(svc: Services, exam_id: int, *, finding: str, by: Actor, urgency: str = "high") -> dict[str, Any]:
    """Record a critical finding on an exam that has started; the notify clock starts now."""
    by.require(Perm.CRITICAL_MANAGE)
    finding = _text(finding, "危急值内容", "finding_required", 2000)
    if urgency not in URGENCY_LABELS:
        raise InvalidInput(f"紧急程度无效：{urgency}", code="invalid_urgency")
    with transaction(svc) as tx:
        exam = timeline.load_exam(tx, exam_id)
        if not performed(exam.status):
            raise Conflict(f"检查当前为“{EXAM_STATUS_LABELS[ExamStatus(exam.status)]}”，检查开始后才能上报危急值",
                           code="exam_not_started")
        cv = CriticalValue(exam_id=exam.id, finding=finding, urgency=urgency, raised_by=by.name[:64],
                           raised_at=tx.now, status=CriticalStatus.RAISED.value, read_back=False)
        tx.session.add(cv)
        tx.session.flush()
        timeline.append(tx, exam, TimelineKind.CRITICAL_RAISED, by, critical_id=cv.id, urgency=urgency)
        audit.record(tx, by, "raise", "critical_value", cv.id, exam_id=exam.id)
        logger.info("critical value %s raised on exam %s", cv.id, exam.id)
        return _view(tx, cv, exam)


def _load(tx: Tx, critical_id: int) -> tuple[CriticalValue, Exam]:
    cv = tx.session.scalars(select(CriticalValue).where(CriticalValue.id == critical_id)
                            .with_for_update(of=CriticalValue)).first()
    if cv is None:
        raise NotFound(f"危急值记录不存在：{critical_id}", code="critical_not_found")
    return cv, timeline.load_exam(tx, cv.exam_id)


def notify(svc: Services, critical_id: int, *, to: str, via: str, read_back: bool, by: Actor,
           at: datetime | None = None, reason: str = "") -> dict[str, Any]:
    """Record who was told, how and when (default now), and whether they read it back; only once.

    The time entered and the time recorded are both kept; a time entered more than the setting
    `critical.backdate_tolerance_min` before the entry needs a reason (flagged in the cockpit drill-down).
    """
    by.require(Perm.CRITICAL_MANAGE)
    to = _text(to, "接收人", "recipient_required", 64)
    if via not in NOTIFY_CHANNELS:
        raise InvalidInput(f"通知方式无效：{via}；可选 {'、'.join(NOTIFY_CHANNELS.values())}", code="invalid_channel")
    with transaction(svc) as tx:
        cv, exam = _load(tx, critical_id)
        if not awaiting_notice(cv.status):
            raise Conflict(f"该危急值已于 {_local(cv.notified_at, tx)} 通知 {cv.notified_to}，不能重复通知",
                           code="already_notified")
        when = at or tx.now
        if when > tx.now or when < cv.raised_at:
            raise InvalidInput("通知时间须在上报时间之后且不晚于当前时间", code="invalid_notify_time")
        cv.status = next_critical_status(CriticalStatus(cv.status), CriticalTrigger.NOTIFY).value
        cv.notified_to, cv.notified_via, cv.notified_by = to, via, by.name[:64]
        tolerance = timedelta(minutes=int(settings_store.get_in(tx, "critical.backdate_tolerance_min")))
        reason = (reason or "").strip()[:500]
        if backdated(when, tx.now, tolerance) and not reason:
            raise InvalidInput(f"通知时间早于登记时间超过 {tolerance.total_seconds() / 60:g} 分钟，请填写补登原因",
                               code="backdate_reason_required")
        cv.notified_at, cv.read_back = when, bool(read_back)
        cv.notified_recorded_at, cv.notify_late_reason = tx.now, reason or None
        view = _view(tx, cv, exam)
        timeline.append(tx, exam, TimelineKind.CRITICAL_NOTIFIED, by, critical_id=cv.id, via=via,
                        read_back=bool(read_back), minutes=view["minutes_to_notify"],
                        within_limit=view["within_limit"])
        audit.record(tx, by, "notify", "critical_value", cv.id, exam_id=exam.id, via=via)
        return view


def acknowledge(svc: Services, critical_id: int, *, by: Actor, note: str = "") -> dict[str, Any]:
    """Close a notified critical value (the clinician confirmed receipt and took over)."""
    by.require(Perm.CRITICAL_MANAGE)
    with transaction(svc) as tx:
        cv, exam = _load(tx, critical_id)
        if cv.status == CriticalStatus.ACKNOWLEDGED.value:
            raise Conflict("该危急值已确认，不能重复确认", code="already_acknowledged")
        if cv.status == CriticalStatus.RAISED.value:
            raise Conflict("该危急值尚未通知临床，请先登记通知再确认", code="not_notified")
        cv.status = next_critical_status(CriticalStatus(cv.status), CriticalTrigger.ACKNOWLEDGE).value
        cv.acknowledged_by, cv.acknowledged_at = by.name[:64], tx.now
        timeline.append(tx, exam, TimelineKind.CRITICAL_ACKNOWLEDGED, by, critical_id=cv.id, note=note.strip()[:500])
        audit.record(tx, by, "acknowledge", "critical_value", cv.id, exam_id=exam.id)
        return _view(tx, cv, exam)


def open_values(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Critical values not yet acknowledged, oldest first, with minutes since raised."""
    by.require(Perm.CRITICAL_MANAGE)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.execute(select(CriticalValue, Exam).join(Exam, Exam.id == CriticalValue.exam_id).where(
            CriticalValue.status.in_(OPEN_CRITICAL)).order_by(CriticalValue.raised_at)).all()
        return [_view(tx, cv, exam) for cv, exam in rows]


def of_exam(svc: Services, exam_id: int, *, by: Actor) -> list[dict[str, Any]]:
    """Every critical value of one exam, oldest first."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        exam = timeline.load_exam(tx, exam_id, lock=False)
        rows = tx.session.scalars(select(CriticalValue).where(CriticalValue.exam_id == exam.id)
                                  .order_by(CriticalValue.raised_at)).all()
        return [_view(tx, cv, exam) for cv in rows]


def _local(at: datetime | None, tx: Tx) -> str:
    return at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M") if at else ""


def _view(tx: Tx, cv: CriticalValue, exam: Exam) -> dict[str, Any]:
    limit_min = int(settings_store.get_in(tx, "critical.notify_limit_min"))
    limit = timedelta(minutes=limit_min)
    end = cv.notified_at or tx.now
    patient = tx.session.get(Patient, exam.patient_id)
    status = CriticalStatus(cv.status)
    return {
        "id": cv.id, "exam_id": exam.id, "accession": exam.accession,
        "patient_name": patient.name if patient else "", "mrn": patient.mrn if patient else "",
        "ordering_department": exam.ordering_department, "ordering_doctor": exam.ordering_doctor,
        "finding": cv.finding, "urgency": cv.urgency, "urgency_label": URGENCY_LABELS.get(cv.urgency, cv.urgency),
        "status": status.value, "status_label": CRITICAL_STATUS_LABELS[status],
        "raised_by": cv.raised_by, "raised_at": cv.raised_at.isoformat(), "raised_local": _local(cv.raised_at, tx),
        "notified_to": cv.notified_to, "notified_via": cv.notified_via,
        "notified_via_label": NOTIFY_CHANNELS.get(cv.notified_via or "", ""), "notified_by": cv.notified_by,
        "notified_at": cv.notified_at.isoformat() if cv.notified_at else None,
        "notified_local": _local(cv.notified_at, tx), "read_back": cv.read_back,
        "notified_recorded_at": cv.notified_recorded_at.isoformat() if cv.notified_recorded_at else None,
        "notify_late_reason": cv.notify_late_reason,
        "acknowledged_by": cv.acknowledged_by, "acknowledged_local": _local(cv.acknowledged_at, tx),
        "minutes_since_raised": int((tx.now - cv.raised_at).total_seconds() // 60),
        "minutes_to_notify": round((end - cv.raised_at).total_seconds() / 60, 1),
        "limit_min": limit_min,
        # Not yet notified: "within" means there is still time left.
        "within_limit": notified_within(cv.raised_at, end, limit),
    }
