"""Critical-value timeliness: the one rule for "notified within the limit"."""

from __future__ import annotations

from datetime import datetime, timedelta


def notified_within(raised_at: datetime, notified_at: datetime | None, limit: timedelta) -> bool:
    """True when notification happened at most `limit` after raising (exactly the limit counts)."""
    return notified_at is not None and notified_at - raised_at <= limit
