"""The service container and the transaction helper that publishes events after commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db.session import SessionFactory, unit_of_work
from backend.domain.clock import Clock
from backend.domain.events import Event
from backend.ports import Notifier, Ports


@dataclass
class Services:
    """What every service function needs, built once per process by `bootstrap.build_services`."""

    settings: Settings
    session_factory: SessionFactory
    clock: Clock
    notifier: Notifier
    # The partner systems (insurance resolver, later the reconstruction peer, health cloud, ...).
    ports: Ports
    # Short-lived in-process caches (e.g. who is behind a session or an API key), keyed by name.
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.site_timezone)


@dataclass
class Tx:
    """One unit of work: its session, the time it runs at, the site's zone, and the events to publish on commit."""

    session: Session
    now: datetime
    tz: ZoneInfo
    events: list[Event] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        self.events.append(event)


@contextmanager
def transaction(svc: Services, *, readonly: bool = False) -> Iterator[Tx]:
    """Run a unit of work; publish its events only once the commit succeeded."""
    with unit_of_work(svc.session_factory, readonly=readonly) as session:
        tx = Tx(session=session, now=svc.clock(), tz=svc.tz)
        yield tx
    if tx.events:
        svc.notifier.publish(tx.events)
