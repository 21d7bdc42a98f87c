"""Ports: the small interfaces services use to reach the outside (realtime, partners), in domain words.

Each partner is a `Protocol` (here for the core ones, else in this package's module named for the partner:
`health_cloud`, `cadre_health`, `health_check`, `image_store`) and one typed field of `Ports`; its real
client lives in `integrations/<partner>/`, its default is built in `backend/bootstrap.py::default_ports`,
and its fake (`Fake*`, recording calls) in `tests/fakes.py`. A new partner adds all four.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from backend.domain.events import Event
from backend.ports.cadre_health import CadreHealthSystem, ObjectStore
from backend.ports.health_check import HealthCheckResults, OrderDecoder
from backend.ports.health_cloud import HealthCloud
from backend.ports.image_store import ImageStore


class Notifier(Protocol):
    """Tells the screens, desks and dashboards what changed (Socket.IO in production), after commit."""

    def publish(self, events: Sequence[Event]) -> None: ...


class NullNotifier:
    """Publishes nothing (command-line tools that run without a web process)."""

    def publish(self, events: Sequence[Event]) -> None:
        return None


class RecordingNotifier:
    """Keeps what was published, for service tests and for `as_of` dry runs."""

    def __init__(self) -> None:
        self.sent: list[Event] = []

    def publish(self, events: Sequence[Event]) -> None:
        self.sent.extend(events)

    def names(self) -> list[str]:
        return [e.name for e in self.sent]


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    """Identity the insurance platform returns for a medical-insurance e-voucher (ec.query)."""

    id_no: str
    id_type: str = "01"
    name: str = ""
    insurance_no: str = ""


class InsuranceResolver(Protocol):
    """Decodes an NHSA e-voucher QR through the insurance platform; None for an unknown voucher.

    Raises `integrations.errors.IntegrationError` (a DomainError with a Chinese message) when the
    platform is unreachable or answers something else.
    """

    def resolve(self, *, qr_payload: str) -> InsuredPerson | None: ...


class RevocationBus(Protocol):
    """Tells every process of the installation that a credential is revoked (kind: user, api_key, session).

    Services call `revoke` after the commit that revoked; each process drops what it remembers at once.
    `ping` answers whether the message queue is reachable (for /api/health).
    """

    def revoke(self, kind: str, ident: str) -> None: ...

    def ping(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """The partner systems the services reach: one typed field per partner.

    Built once per process by `bootstrap.default_ports(settings)`; tests pass fakes. The health-check
    center only sends to us (HL7 listener), so it has no outbound port; the reconstruction peer, the
    health cloud and the cadre-health system each add a field here when they arrive.
    """

    insurance: InsuranceResolver
    # Revocations published to every process (Redis at scale); None in the one-process embedded default.
    revocations: RevocationBus | None = None
    # The health-check center's result receiver (ORU^R01 over MLLP) and the reader of stored order messages;
    # None where the installation has no health-check interface (results then stay queued in the outbox).
    health_check: HealthCheckResults | None = None
    order_decoder: OrderDecoder | None = None
    # The image archive's files; None: files under var/dicom (backend/dicom/storage.py).
    images: ImageStore | None = None
    # The cadre-health system and its object storage (CD-1..CD-4); None: no cadre-health uploads here.
    cadre_health: CadreHealthSystem | None = None
    cadre_storage: ObjectStore | None = None
    # The provincial health cloud (HC-1..HC-9): its index and its file transfer; None where none is configured.
    health_cloud: HealthCloud | None = None
