"""Listeners and emulators: started beside the web server by the embedded run, or by `python -m backend
listeners` at scale. A required one that cannot start stops the command with one Chinese line."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from backend.domain import health
from backend.services.base import Services
from backend.services.health import Report

logger = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


# A starter takes the services and returns something with stop(), and a line to print.
Starter = Callable[[Services], tuple[Stoppable, str]]


class Helper(NamedTuple):
    """One entry of `starters()`: required ones (ports partners send to) must start; emulators may fail."""

    name: str
    start: Starter
    required: bool = True


class StartFailed(Exception):
    """A helper could not start; the message is one Chinese line for the operator (which port, why)."""


class NotStarted:
    """Returned by a starter that deliberately starts nothing here (reported `off` in /api/health)."""

    def stop(self) -> None:
        return None


def port_failure(name: str, host: str, port: int, exc: OSError) -> StartFailed:
    """The line for a listener whose port cannot be bound (taken, or not an address of this machine)."""
    reason = {errno.EADDRINUSE: "端口已被占用", errno.EACCES: "无权限使用该端口",
              errno.EADDRNOTAVAIL: "本机没有这个地址"}.get(exc.errno or 0, exc.strerror or str(exc))
    return StartFailed(f"{name} 无法启动：{host}:{port} {reason}")


def starters() -> tuple[Helper, ...]:
    """Every listener and emulator, in start order."""
    from backend.entrypoints.listeners import (
        cadre_health_emulator,
        dicom_scp,
        hc_results_emulator,
        health_cloud_emulator,
        insurance_emulator,
        mllp,
        mllp_demo,
        recon_emulator,
    )

    return (
        Helper("医保电子凭证模拟", insurance_emulator.start_insurance_emulator, required=False),
        Helper("HL7 MLLP", mllp.start_mllp),
        Helper("体检演示申请单", mllp_demo.start_demo_orders, required=False),
        Helper("靶重建系统模拟", recon_emulator.start_recon_emulator, required=False),
        Helper("体检结果接收模拟", hc_results_emulator.start_result_receiver, required=False),
        Helper("DICOM 服务", dicom_scp.start_dicom),
        Helper("干部保健系统模拟", cadre_health_emulator.start_cadre_health_emulator, required=False),
        Helper("省健康云模拟", health_cloud_emulator.start_health_cloud_emulator, required=False),
    )


def expected_components() -> list[health.Expected]:
    """What /api/health expects some process to report: the scheduler and every helper."""
    return [health.Expected("scheduler", health.Kind.SCHEDULER, True),
            *(health.Expected(h.name, health.Kind.LISTENER, h.required) for h in map(_helper, starters()))]


@dataclass
class Started:
    name: str
    handle: Stoppable
    line: str
    required: bool
    state: str


def _helper(entry: tuple[str, Starter] | Helper) -> Helper:
    return entry if isinstance(entry, Helper) else Helper(*entry)


def start_all(svc: Services) -> list[Started]:
    """Start every helper; an optional one that fails is reported down, a required one stops them all."""
    started: list[Started] = []
    for helper in map(_helper, starters()):
        try:
            handle, line = helper.start(svc)
        except Exception as exc:
            message = str(exc) if isinstance(exc, StartFailed) else f"{helper.name} 无法启动：{exc}"
            if helper.required:
                stop_all(started)
                raise StartFailed(message) from exc
            logger.warning("optional helper not started: %s", message)
            started.append(Started(helper.name, NotStarted(), message, False, health.State.DOWN))
            continue
        state = health.State.OFF if isinstance(handle, NotStarted) else health.State.OK
        started.append(Started(helper.name, handle, line, helper.required, state))
    return started


def stop_all(started: list[Started]) -> None:
    for item in reversed(started):
        try:
            item.handle.stop()
        except Exception:
            logger.exception("could not stop %s", item.name)


def reports(started: list[Started]) -> list[Report]:
    """What this process says about its helpers in every heartbeat."""
    return [Report(s.name, health.Kind.LISTENER, s.state, s.required, s.line) for s in started]
