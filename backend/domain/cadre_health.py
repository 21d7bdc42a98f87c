"""Cadre-health upload rules that need no I/O: object keys, stable identifiers (docs/cadre_health_interface.md).

Object keys (one scheme, so an operator can find any file from the exam):
    images:  {prefix}/{org}/{yyyy}/{mm}/{dd}/{accession}/{study uid}/{series uid}/{sop uid}.dcm
    report:  {prefix}/{org}/{yyyy}/{mm}/{dd}/{accession}/report/v{version}.pdf
The date is the study's local date. Identifiers are UUID v5 of the organisation and the DICOM or report
identity, so a retry after a crash posts the same file id and report id again (the system de-duplicates).
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from enum import StrEnum
from typing import Final

from backend.domain.errors import InvalidInput

# A fixed namespace for RadOps' cadre-health identifiers (uuid5 of a URL we own the wording of).
NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "radops:cadre-health")
_UID: Final = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_SEGMENT: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _uid(value: str, what: str) -> str:
    if len(value) > 64 or not _UID.match(value):
        raise InvalidInput(f"{what}不是合法的 DICOM UID：{value[:70]}", code="invalid_uid")
    return value


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.match(value):
        raise InvalidInput(f"{what}只能含字母、数字、点、下划线和连字符：{value[:70]}", code="invalid_key_part")
    return value


def _base(prefix: str, org: str, study_day: date, accession: str) -> str:
    return (f"{_segment(prefix, '前缀')}/{_segment(org, '机构代码')}/{study_day:%Y/%m/%d}/"
            f"{_segment(accession, '检查号')}")


def image_key(*, prefix: str, org: str, study_day: date, accession: str, study_uid: str, series_uid: str,
              sop_uid: str) -> str:
    """The object key of one original image file."""
    return (f"{_base(prefix, org, study_day, accession)}/{_uid(study_uid, 'Study Instance UID')}/"
            f"{_uid(series_uid, 'Series Instance UID')}/{_uid(sop_uid, 'SOP Instance UID')}.dcm")


def report_key(*, prefix: str, org: str, study_day: date, accession: str, version: int) -> str:
    """The object key of one report version's PDF."""
    if version < 1:
        raise InvalidInput("报告版本须从 1 开始", code="invalid_version")
    return f"{_base(prefix, org, study_day, accession)}/report/v{version}.pdf"


def file_id(*, org: str, sop_uid: str) -> str:
    """The stable file identifier of an image (the same on every retry)."""
    return str(uuid.uuid5(NAMESPACE, f"{org}/image/{_uid(sop_uid, 'SOP Instance UID')}"))


def report_id(*, org: str, accession: str) -> str:
    """The stable identifier of an exam's report (its versions share it)."""
    return str(uuid.uuid5(NAMESPACE, f"{org}/report/{accession}"))


class CadreUploadState(StrEnum):
    """An exam's line on the cadre-health upload ledger (the codes of the data API's `cadre_uploads`)."""

    PENDING = "pending"  # 待上传: queued, not tried yet (or a new report version queued)
    RUNNING = "running"  # 上传中 n/N
    DONE = "done"  # 已上传: every file and the newest approved report version posted
    FAILED = "failed"  # 失败待重试: the last attempt failed, the next one is due at next_try_at
    DEAD = "dead"  # 失败（已停止重试）: a person must look and retry
    CANCELLED = "cancelled"  # 已移除: an admin took the exam off the ledger


CADRE_UPLOAD_LABELS: Final[dict[CadreUploadState, str]] = {
    CadreUploadState.PENDING: "待上传", CadreUploadState.RUNNING: "上传中", CadreUploadState.DONE: "已上传",
    CadreUploadState.FAILED: "失败待重试", CadreUploadState.DEAD: "失败（已停止重试）",
    CadreUploadState.CANCELLED: "已移除",
}


class CadreFileState(StrEnum):
    PENDING = "pending"  # not in the object storage yet
    STORED = "stored"  # in the object storage, details not posted yet
    POSTED = "posted"  # details posted: the system has the file


class CadreSource(StrEnum):
    """Why an exam is on the ledger."""

    ROSTER = "roster"  # the patient's ID card is on the system's roster
    FLAG = "flag"  # the patient carries the cadre-health flag (保健对象)
    MANUAL = "manual"  # an admin added the exam


CADRE_SOURCE_LABELS: Final[dict[CadreSource, str]] = {
    CadreSource.ROSTER: "保健名单", CadreSource.FLAG: "保健对象标记", CadreSource.MANUAL: "人工添加"}


def progress_label(state: CadreUploadState, done: int, total: int) -> str:
    """The ledger's words for a state: 上传中 shows n/N."""
    label = CADRE_UPLOAD_LABELS[state]
    return f"{label} {done}/{total}" if state is CadreUploadState.RUNNING else label


def structured_sections(sections: dict[str, object]) -> dict[str, object]:
    """The report's structured content: every section but the free-text findings and impression."""
    return {k: v for k, v in sections.items() if k not in ("findings", "impression") and v not in (None, "")}


def retry_helps(error_code: str, partner_code: str) -> bool:
    """Whether trying a failed upload again can succeed: not after the system refused the content itself
    (1001 参数错误, 1002 非保健对象); unreachable, busy, odd answers and a refused token are retried."""
    return not (error_code == "partner_rejected" and partner_code in ("1001", "1002"))
