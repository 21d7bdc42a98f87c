"""Scheduled job: fill open ultrasound rooms from the pool every 30 seconds (the safety net for a check-in
that committed to the pool while a shift session was opening in another transaction)."""

from __future__ import annotations

from backend.domain.actor import SYSTEM
from backend.jobs import job
from backend.services import triage
from backend.services.base import Services


@job("triage_pull", every_seconds=30)
def run(svc: Services) -> int:
    """Pull pool patients into rooms below capacity; idempotent (rooms are locked, pool rows re-checked)."""
    return triage.pull_all(svc, by=SYSTEM)
