"""In-process fakes of every port in `backend/ports/`: they record calls and answer what the test set up.

Service tests use these instead of real clients (cosmicpython `FakeNotifications`, Warehouse's fake
services); the real clients are tested against their emulators and `httpx.MockTransport` in
`tests/integration/`. A new partner adds its `Fake*` here and a field in `fake_ports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.domain.events import Event
from backend.ports import InsuredPerson, Ports
from backend.ports.health_check import HealthCheckResult, ResultAck


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


@dataclass
class FakeHealthCheckResults:
    """HealthCheckResults: keeps every result sent; answers `answers` in turn (then AA), or raises `fail_with`."""

    sent: list[HealthCheckResult] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # ACK codes to answer first, e.g. ["AE", "AR"]
    fail_with: Exception | None = None

    def send_result(self, *, result: HealthCheckResult) -> ResultAck:
        if self.fail_with is not None:
            raise self.fail_with
        code = self.answers.pop(0) if self.answers else "AA"
        self.sent.append(result)
        text = f"ORU {result.control_id} {result.placer_order_no}"
        return ResultAck(ack_code=code, text="已接收" if code == "AA" else "拒收", sent=text.encode(),
                         sent_text=text, charset="UNICODE UTF-8", partner="hl7:FAKE/TJZX")


def fake_ports() -> Ports:
    """A `Ports` made of fakes only: no test reaches a partner unless it asks for a real client.

    The order decoder is the real one: it reads bytes, it reaches no partner.
    """
    from integrations.health_check.results import Er7OrderDecoder

    return Ports(insurance=FakeInsuranceResolver(), health_check=FakeHealthCheckResults(),
                 order_decoder=Er7OrderDecoder())
