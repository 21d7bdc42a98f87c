"""The provincial health cloud (HC-1..HC-9): its index (注册入库) and its file transfer, in domain words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol


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
