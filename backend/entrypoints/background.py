"""Long-running helpers started beside the web server in the embedded run: listeners and emulators."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from backend.services.base import Services

logger = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


# A starter takes the services and returns something with stop(), and a line to print.
Starter = Callable[[Services], tuple[Stoppable, str]]


def starters() -> tuple[tuple[str, Starter], ...]:
    """Every helper of the embedded run, in start order."""
    from backend.entrypoints.listeners import insurance_emulator, mllp, mllp_demo, recon_emulator

    return (
        ("医保电子凭证模拟", insurance_emulator.start_insurance_emulator),
        ("HL7 MLLP", mllp.start_mllp),
        ("体检演示申请单", mllp_demo.start_demo_orders),
        ("靶重建系统模拟", recon_emulator.start_recon_emulator),
    )


def start_all(svc: Services) -> list[tuple[str, Stoppable, str]]:
    """Start every helper; one that fails to start is logged and skipped."""
    started = []
    for name, starter in starters():
        try:
            handle, line = starter(svc)
            started.append((name, handle, line))
        except Exception:
            logger.exception("could not start %s", name)
    return started
