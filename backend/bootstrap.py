"""Composition root: builds the engine, the services and the partner adapters from settings."""

from __future__ import annotations

from typing import Any

from backend.config import Settings
from backend.db.session import make_engine, make_session_factory
from backend.domain.clock import Clock, system_clock
from backend.ports import Notifier, NullNotifier, Ports
from backend.services.base import Services


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    session_factory: Any = None,
    ports: Ports | None = None,
) -> Services:
    """Wire the services for one process; tests pass their own clock, notifier, session factory and ports."""
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    return Services(
        settings=settings,
        session_factory=session_factory,
        clock=clock or system_clock,
        notifier=notifier or NullNotifier(),
        ports=ports if ports is not None else default_ports(settings),
    )


def default_ports(settings: Settings) -> Ports:
    """Real partner clients pointed at the URLs in settings (the emulators' loopback URLs in the demo)."""
    import httpx

    from integrations.insurance.client import HttpInsuranceResolver

    return Ports(
        insurance=HttpInsuranceResolver(httpx.Client(base_url=settings.insurance_url,
                                                     timeout=httpx.Timeout(5, connect=2))),
    )
