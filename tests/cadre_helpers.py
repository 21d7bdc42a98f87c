"""Builders for cadre-health tests: a hand-moved monotonic clock, file details and reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from backend.domain.cadre_health import file_id, image_key, report_id
from backend.ports import CadreReport, CoveredPerson, ImageFileInfo

ORG = "H33010000001"
PERSON = CoveredPerson(id_no="330102195001011234", name="王建国", card_no="BJ-0001", level="一级",
                       valid_until=date(2027, 12, 31))
STUDY = "1.2.840.113619.2.55.3.1234"
SERIES = "1.2.840.113619.2.55.3.1234.1"


class Ticker:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self, at: float = 1000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def file_info(n: int = 1, *, person: CoveredPerson = PERSON, **kw: Any) -> ImageFileInfo:
    sop = f"{SERIES}.{n}"
    key = image_key(prefix="cadre", org=ORG, study_day=date(2026, 11, 27), accession="CT2026112700001",
                    study_uid=STUDY, series_uid=SERIES, sop_uid=sop)
    values = {"file_id": file_id(org=ORG, sop_uid=sop), "accession": "CT2026112700001",
              "patient_id_no": person.id_no, "study_uid": STUDY, "series_uid": SERIES, "sop_uid": sop,
              "bucket": "cadre-oss", "object_key": key, "size": 524288, "sha256": "ab" * 32, **kw}
    return ImageFileInfo(**values)


def report(files: list[ImageFileInfo], *, version: int = 1, **kw: Any) -> CadreReport:
    values = {"report_id": report_id(org=ORG, accession="CT2026112700001"), "version": version,
              "accession": "CT2026112700001", "patient_id_no": PERSON.id_no, "study_uid": STUDY,
              "findings": "右肺上叶见一实性结节，大小约8mm。", "impression": "右肺上叶实性结节，建议复查。",
              "approved_at": datetime(2026, 11, 27, 3, 30, tzinfo=UTC), "approver": "主任医师 赵强",
              "file_ids": tuple(f.file_id for f in files), "structured": {"lung_rads": "3"},
              "pdf_object_key": f"cadre/{ORG}/2026/11/27/CT2026112700001/report/v{version}.pdf",
              "amended": version > 1, **kw}
    return CadreReport(**values)
