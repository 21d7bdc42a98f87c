"""A critical value's (危急值) life: raised -> notified -> acknowledged, one table, plus labels."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from backend.domain.machine import StateMachine


class CriticalStatus(StrEnum):
    RAISED = "raised"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"


class CriticalTrigger(StrEnum):
    NOTIFY = "notify"
    ACKNOWLEDGE = "acknowledge"


CRITICAL_STATUS_LABELS: Final[Mapping[CriticalStatus, str]] = {
    CriticalStatus.RAISED: "待通知",
    CriticalStatus.NOTIFIED: "已通知",
    CriticalStatus.ACKNOWLEDGED: "已确认",
}
CRITICAL_TRANSITIONS: Final[Mapping[tuple[CriticalStatus, CriticalTrigger], CriticalStatus]] = {
    (CriticalStatus.RAISED, CriticalTrigger.NOTIFY): CriticalStatus.NOTIFIED,
    (CriticalStatus.NOTIFIED, CriticalTrigger.ACKNOWLEDGE): CriticalStatus.ACKNOWLEDGED,
}
CRITICAL_TRIGGER_LABELS: Final[Mapping[CriticalTrigger, str]] = {
    CriticalTrigger.NOTIFY: "通知临床",
    CriticalTrigger.ACKNOWLEDGE: "确认",
}
CRITICAL_MACHINE: Final = StateMachine("critical_value", CRITICAL_TRANSITIONS, CRITICAL_STATUS_LABELS,
                                       CRITICAL_TRIGGER_LABELS)
# Not closed yet: the critical-value list shows these.
OPEN_CRITICAL: Final = frozenset({CriticalStatus.RAISED, CriticalStatus.NOTIFIED})

# How the clinician was reached (通知方式).
NOTIFY_CHANNELS: Final[Mapping[str, str]] = {
    "phone": "电话", "system": "系统消息", "in_person": "当面", "sms": "短信",
}
URGENCY_LABELS: Final[Mapping[str, str]] = {"high": "危急", "urgent": "特急（立即处理）"}


def next_critical_status(current: CriticalStatus, trigger: CriticalTrigger) -> CriticalStatus:
    """Return the status after `trigger`, or raise InvalidTransition."""
    return CRITICAL_MACHINE.next(current, trigger)


def awaiting_notice(status: str) -> bool:
    """Raised and the clinician not told yet: the report may not be approved, the notify clock runs."""
    return CriticalStatus(status) is CriticalStatus.RAISED
