"""In-process fakes of every port in `backend/ports.py`: they record calls and answer what the test set up.

Service tests use these instead of real clients (cosmicpython `FakeNotifications`, Warehouse's fake
services); the real clients are tested against their emulators and `httpx.MockTransport` in
`tests/integration/`. A new partner adds its `Fake*` here and a field in `fake_ports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.domain.events import Event
from backend.ports import InsuredPerson, Ports


@dataclass
class FakeNotifier:
    """Notifier: keeps every published event; `fail_with` makes `publish` raise (a broken message queue)."""

    sent: list[Event] = field(default_factory=list)
    fail_with: Exception | None = None

    def publish(self, events: Sequence[Event]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.extend(events)

    def names(self) -> list[str]:
        return [e.name for e in self.sent]


@dataclass
class FakeInsuranceResolver:
    """InsuranceResolver: answers from `people` (voucher -> person), None for any other voucher.

    `calls` lists every voucher asked for; `fail_with` makes every call raise (e.g. PartnerUnavailable).
    """

    people: dict[str, InsuredPerson] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_with: Exception | None = None

    def add(self, qr_payload: str, person: InsuredPerson) -> None:
        self.people[qr_payload] = person

    def resolve(self, *, qr_payload: str) -> InsuredPerson | None:
        self.calls.append(qr_payload)
        if self.fail_with is not None:
            raise self.fail_with
        return self.people.get(qr_payload)


def fake_ports() -> Ports:
    """A `Ports` made of fakes only: no test reaches a partner unless it asks for a real client."""
    return Ports(insurance=FakeInsuranceResolver())
