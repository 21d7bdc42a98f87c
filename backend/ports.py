"""Ports: the small interfaces services use to reach the outside (realtime, partners), in domain words.

Each partner is a `Protocol` here and one typed field of `Ports`; its real client lives in
`integrations/<partner>/`, its default is built in `backend/bootstrap.py::default_ports`, and its
fake (`Fake*`, recording calls) in `tests/fakes.py`. A new partner adds all four.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol

from backend.domain.events import Event
from backend.domain.order_intake import IntakeCommand


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
# --- The provincial health cloud (HC-1..HC-9): index (注册入库) and file transfer -----------------------


@dataclass(frozen=True, slots=True)
class CloudFileEntry:
    """One file of a study as the cloud's index lists it."""

    sop_instance_uid: str
    series_instance_uid: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class CloudStudy:
    """What the cloud registers a study under; `old_cloud_id` links the old interface's record (HC-8)."""

    accession: str
    study_uid: str
    patient_id: str
    patient_name: str
    modality: str
    study_date: date
    files: tuple[CloudFileEntry, ...]
    patient_sex: str = ""
    birth_date: date | None = None
    id_number: str = ""
    old_cloud_id: str = ""

    @property
    def series_count(self) -> int:
        return len({f.series_instance_uid for f in self.files})

    @property
    def image_count(self) -> int:
        return len(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True, slots=True)
class CloudRegistration:
    """The cloud's answer to a registration; `duplicate` when it already had the study UID."""

    registration_id: str
    duplicate: bool = False
    old_cloud_id: str = ""


@dataclass(frozen=True, slots=True)
class CloudFile:
    """A file to send; the cloud counts it once per `idempotency_key`, however often it is sent."""

    registration_id: str
    sop_instance_uid: str
    size: int
    sha256: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class CloudUpload:
    """An upload the cloud opened for a file, and how much of it the cloud already acknowledged."""

    upload_id: str
    file: CloudFile
    acknowledged: int
    complete: bool
    chunk_size: int


@dataclass(frozen=True, slots=True)
class CloudUploadReceipt:
    """What one upload call did: bytes put on the wire, the offset it resumed from."""

    upload_id: str
    bytes_sent: int
    resumed_from: int
    already_complete: bool


@dataclass(frozen=True, slots=True)
class CloudStoredStudy:
    """A study as the cloud lists it (for reconciling the ledger); `expires_at` by the cloud's window."""

    registration_id: str
    study_uid: str
    accession: str
    study_date: date | None
    registered_at: datetime | None
    expires_at: datetime | None
    files_received: int
    image_count: int
    old_cloud_id: str = ""


@dataclass(frozen=True, slots=True)
class OldCloudRegistration:
    """A registration the hospital made through the cloud's old interface (kept for the HC-8 link)."""

    old_cloud_id: str
    accession: str
    study_uid: str
    patient_id: str
    patient_name: str = ""
    study_date: date | None = None
    registered_at: datetime | None = None


class HealthCloudIndex(Protocol):
    """The cloud's study index: register (idempotent on the study UID), list what it keeps, the old records."""

    def register_study(self, *, study: CloudStudy) -> CloudRegistration: ...

    def list_studies(self, *, since: date | None = None) -> list[CloudStoredStudy]: ...

    def old_registrations(self) -> list[OldCloudRegistration]: ...


class HealthCloudTransfer(Protocol):
    """The cloud's file transfer: open uploads for files (what it already has), then send what is missing."""

    def open_uploads(self, *, registration_id: str, files: Sequence[CloudFile]) -> list[CloudUpload]: ...

    def upload_file(self, *, upload: CloudUpload, source: Path | bytes,
                    on_progress: Callable[[int, int], None] | None = None) -> CloudUploadReceipt: ...


class HealthCloud(HealthCloudIndex, HealthCloudTransfer, Protocol):
    """The health cloud as one partner: its index and its transfer (one signed client does both)."""


# --- The provincial cadre-health system (省干部保健管理系统, CD-1..CD-4) and its object storage -------------


@dataclass(frozen=True, slots=True)
class CoveredPerson:
    """One person the cadre-health system covers (保健对象), as its roster lists them."""

    id_no: str  # 身份证号: how RadOps matches the person to its patients
    name: str
    card_no: str = ""  # 保健证号
    level: str = ""  # 保健级别
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class ImageFileInfo:
    """One original image file stored in the object storage, as posted to the system (CD-3)."""

    file_id: str  # RadOps' stable identifier of the file: the system de-duplicates on it
    accession: str
    patient_id_no: str
    study_uid: str
    series_uid: str
    sop_uid: str
    bucket: str
    object_key: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class CadreReport:
    """An approved report version posted to the system and linked to its image files (CD-4)."""

    report_id: str  # RadOps' stable identifier of the report; with `version`, the system's de-duplication key
    version: int
    accession: str
    patient_id_no: str
    study_uid: str
    findings: str
    impression: str
    approved_at: datetime
    approver: str
    file_ids: tuple[str, ...]
    structured: Mapping[str, Any] = field(default_factory=dict)
    pdf_object_key: str = ""
    amended: bool = False  # a new version of a report posted before


@dataclass(frozen=True, slots=True)
class PartnerReceipt:
    """The system's answer to a post: its record id, and whether it had the item already."""

    record_id: str
    duplicate: bool = False


class CadreHealthSystem(Protocol):
    """The cadre-health system's medical-imaging interface: roster, file details, reports."""

    def covered_persons(self, *, updated_since: datetime | None = None) -> list[CoveredPerson]: ...

    def post_file_info(self, *, info: ImageFileInfo) -> PartnerReceipt: ...

    def post_report(self, *, report: CadreReport) -> PartnerReceipt: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object as the storage holds it (size and the SHA-256 of its content, kept in its metadata)."""

    bucket: str
    key: str
    size: int
    sha256: str
    etag: str = ""


class ObjectStore(Protocol):
    """S3-protocol object storage (the government-network OSS, MinIO, Ceph; moto on loopback)."""

    def put_file(self, *, key: str, path: Path, sha256: str | None = None) -> StoredObject: ...

    def stat(self, *, key: str) -> StoredObject | None: ...


# --- The health-check center (体检中心, PE-1..PE-3, issue 14.12-13): orders in, results back as ORU^R01 -----


@dataclass(frozen=True, slots=True)
class HealthCheckResult:
    """An approved report as the health-check center receives it (one ORU^R01 per approved version)."""

    control_id: str  # MSH-10: the same on every retry of one unit of work
    placer_order_no: str  # ORC-2 / OBR-2: the center's own order number
    accession: str  # ORC-3 / OBR-3: ours (filler order number)
    mrn: str
    patient_name: str
    sex: str
    birth_date: date | None
    item_code: str
    item_name: str
    result_status: str  # F final, C corrected (an amended report approved again)
    version: int
    observed_at: datetime | None  # when the exam was done
    approved_at: datetime
    author: str
    approver: str
    sections: tuple[tuple[str, str], ...]  # (title, text) in the template's order: 检查所见, 诊断意见, ...
    pdf: bytes | None = None  # the printed report, sent as ED (base64) when set
    pdf_url: str = ""  # else (or also) where the center fetches it


@dataclass(frozen=True, slots=True)
class ResultAck:
    """What the center answered to a result, and the message as it went on the wire (for the monitor)."""

    ack_code: str  # AA / AE / AR
    text: str  # MSA-3 (or ERR) text
    sent: bytes  # the ER7 bytes sent
    sent_text: str  # the same, decoded, for display
    charset: str  # MSH-18 of the message sent
    partner: str  # hl7:<MSH-5>/<MSH-6>


class HealthCheckResults(Protocol):
    """Sends a result to the health-check center and returns its ACK.

    Raises `integrations.errors.IntegrationError` when the center cannot be reached or does not answer.
    """

    def send_result(self, *, result: HealthCheckResult) -> ResultAck: ...


class OrderDecoder(Protocol):
    """Reads a stored raw order message again (re-processing a refused one) into an intake command.

    Raises `order_intake.IntakeRejected` when the message still cannot be read.
    """

    def decode_order(self, *, raw: bytes, tz: tzinfo) -> IntakeCommand: ...
# --- The image archive's file storage (issue 10 item 3) -------------------------------------------------


class ImageStore(Protocol):
    """Where archived DICOM files live, by key (`domain.imaging.content_path`): files under var/ by
    default (`backend/dicom/storage.py`), S3-compatible object storage at scale
    (`integrations/object_storage/images.py`). A new file is first *staged* (a temporary copy under the
    key), then indexed, then *committed* (renamed into place), so a crash leaves either a staged copy that
    the start-up repair finishes or drops, or nothing: never a file without its index row."""

    def stage(self, key: str, data: bytes) -> None: ...

    def commit(self, key: str) -> None: ...

    def discard(self, key: str) -> None: ...

    def read(self, key: str) -> bytes: ...

    def read_staged(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def staged(self) -> Iterator[str]: ...

    def keys(self) -> Iterator[str]: ...
