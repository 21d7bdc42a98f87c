"""Domain errors: each carries a stable code, an HTTP-ish status and a Chinese message for the UI.

Tree:
    DomainError
    ├── NotFound             (404)  unknown accession, exam, user, ...
    ├── Forbidden            (403)  wrong role, self-approval
    ├── InvalidInput         (400)  missing or malformed fields
    ├── Conflict             (409)  duplicate order, slot full, stale edit
    ├── InvalidTransition    (409)  a state machine refused a trigger
    └── TooManyRequests      (429)  throttled: sign-in failures, a kiosk's look-ups
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every rule violation a caller can show to a person."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: Mapping[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"details": dict(self.details)} if self.details else {})}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class InvalidInput(DomainError):
    status = 400
    code = "invalid_input"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(DomainError):
    """A trigger that the state machine does not allow from the current state."""

    status = 409
    code = "invalid_transition"

    def __init__(self, machine: str, current: str, trigger: str, current_label: str = "",
                 trigger_label: str = "") -> None:
        super().__init__(
            f"当前状态为“{current_label or current}”，不能执行“{trigger_label or trigger}”操作",
            machine=machine,
            current=current,
            trigger=trigger,
        )
        self.current = current
        self.trigger = trigger


class TooManyRequests(DomainError):
    """Too many attempts (sign-in failures, kiosk look-ups): try again after `retry_after` seconds (429)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, retry_after=retry_after)
        self.retry_after = retry_after
