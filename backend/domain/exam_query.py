"""The exam list's filter and sort vocabulary, and the keyset cursor format."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date

from backend.domain.errors import InvalidInput

SORTS = ("created_desc", "created_asc", "accession_asc", "accession_desc")
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class ExamFilter:
    date_from: date | None = None  # registration date, site time zone, inclusive
    date_to: date | None = None
    statuses: tuple[str, ...] = ()
    report_statuses: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    item_codes: tuple[str, ...] = ()
    patient_classes: tuple[str, ...] = ()
    campus_ids: tuple[int, ...] = ()
    accession: str | None = None
    mrn: str | None = None
    patient_name: str | None = None
    q: str | None = None  # one box: accession, MRN or the start of a name
    placer_order: str | None = None
    exam_ids: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput("开始日期不能晚于结束日期", code="invalid_date_range")


def encode_cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[object]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidInput("分页游标无效", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise InvalidInput("分页游标无效", code="invalid_cursor")
    return values
