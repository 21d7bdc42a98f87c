"""Scheduled job: write the queued read-audit rows of this process every 5 seconds (see services/audit.py)."""

from __future__ import annotations

from backend.jobs import job
from backend.services import audit
from backend.services.base import Services


@job("audit_reads", every_seconds=5)
def run(svc: Services) -> int:
    """Idempotent: each queued row is taken by exactly one flush."""
    return audit.flush_reads(svc)
