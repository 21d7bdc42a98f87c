"""Composition root: builds the engine, the services and the partner adapters from settings."""

from __future__ import annotations

from typing import Any

from backend.config import Settings
from backend.db.session import make_engine, make_session_factory
from backend.domain.clock import Clock, system_clock
from backend.ports import Notifier, NullNotifier
from backend.services.base import Services


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    session_factory: Any = None,
    ports: dict[str, Any] | None = None,
) -> Services:
    """Wire the services for one process; tests pass their own clock, notifier and session factory."""
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    ports = {**_default_ports(settings), **(ports or {})}
    return Services(
        settings=settings,
        session_factory=session_factory,
        clock=clock or system_clock,
        notifier=notifier or NullNotifier(),
        ports=dict(ports or {}),
    )


def _default_ports(settings: Settings) -> dict[str, Any]:
    """Real partner clients pointed at the URLs in settings (the emulators' loopback URLs in the demo)."""
    import httpx

    from integrations.insurance.client import HttpInsuranceResolver

    return {"insurance": HttpInsuranceResolver(
        httpx.Client(base_url=settings.insurance_url, timeout=httpx.Timeout(5, connect=2)))}
