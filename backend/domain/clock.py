"""Time as an injected dependency: a Clock returns an aware UTC datetime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock that always answers `at` (tests and `as_of` computations)."""
    if at.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")
    return lambda: at


def local(at: datetime, tz: tzinfo) -> datetime:
    """Convert a stored UTC time to the site's zone (`Services.tz`, from settings) for display."""
    return at.astimezone(tz)
