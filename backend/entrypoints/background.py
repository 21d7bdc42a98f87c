"""Long-running helpers started beside the web server (listeners, emulators), declared by modules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from backend.services.base import Services

logger = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


# (name, starter): a starter takes the services and returns something with stop(), and a URL line to print.
STARTERS: list[tuple[str, Callable[[Services], tuple[Stoppable, str]]]] = []


def background(name: str) -> Callable[[Callable[[Services], tuple[Stoppable, str]]], Any]:
    def deco(fn: Callable[[Services], tuple[Stoppable, str]]) -> Callable[[Services], tuple[Stoppable, str]]:
        STARTERS.append((name, fn))
        return fn

    return deco


def start_all(svc: Services) -> list[tuple[str, Stoppable, str]]:
    """Start every declared helper; one that fails to start is logged and skipped."""
    from backend.discovery import import_all

    import_all("backend.listeners")

    started = []
    for name, starter in STARTERS:
        try:
            handle, line = starter(svc)
            started.append((name, handle, line))
        except Exception:
            logger.exception("could not start %s", name)
    return started
