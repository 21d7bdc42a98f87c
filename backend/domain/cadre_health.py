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
