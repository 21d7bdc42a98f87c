"""Scheduled job: emergency-report reminders and escalations every 30 seconds (ER-1)."""

from __future__ import annotations

from typing import Any

from backend.jobs import job
from backend.services import er_reminders
from backend.services.base import Services


@job("er_reminders", every_seconds=30)
def run(svc: Services) -> dict[str, Any]:
    """Push reminders for reports about to fall due; idempotent across schedulers (unique rows)."""
    return er_reminders.scan(svc)
