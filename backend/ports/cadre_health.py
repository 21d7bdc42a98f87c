"""The provincial cadre-health system (省干部保健管理系统, CD-1..CD-4) and its object storage, in domain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol


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
