"""Builders for cadre-health tests: a hand-moved monotonic clock, file details and reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from backend.domain.cadre_health import file_id, image_key, report_id
from backend.ports.cadre_health import CadreReport, CoveredPerson, ImageFileInfo

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


# --- Phase 2: exams of covered patients with archived images, approved through the real reporting service ---


def covered_exam(svc: Any, actors: dict[str, Any], *, id_card: str | None = PERSON.id_no, flag: bool = False,
                 files: int = 3, approve: bool = True, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """A completed CT exam of a patient with `id_card` (and the cadre flag), `files` archived instances, and a
    report written, submitted and (by default) approved."""
    from backend.domain.registration import OrderData, PatientData
    from backend.services import timeline
    from backend.services.imaging import archive
    from backend.services.orders import registration
    from backend.services.reporting import reports as reporting
    from tests.helpers import order
    from tests.imaging_helpers import ct_slice, file_bytes, header
    from tests.reporting_helpers import FINDINGS, IMPRESSION, STEPS

    base = order("DR-CHEST")
    patient = PatientData(mrn=base.patient.mrn, name="王建国", sex="M", id_card=id_card, cadre_health=flag)
    exam = registration.register(svc, OrderData(patient=patient, item_code="DR-CHEST"), by=actors["clerk"])
    for trigger in STEPS["completed"]:
        timeline.apply(svc, exam["exam_id"], trigger, by=actors["tech"])
    first = ct_slice(accession=exam["accession"], patient_id=base.patient.mrn)
    for n in range(files):
        ds = first if n == 0 else ct_slice(accession=exam["accession"], patient_id=base.patient.mrn,
                                           study_uid=first.StudyInstanceUID, series_uid=first.SeriesInstanceUID,
                                           number=n + 1, fill=n)
        archive.store_instance(svc, header(ds), file_bytes(ds))
    r = reporting.save_draft(svc, exam["exam_id"], sections={"findings": FINDINGS, "impression": IMPRESSION,
                                                              **(extra or {})}, by=actors["doctor"])
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=r["report"]["lock"])
    if approve:
        reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    return {**exam, "study_uid": first.StudyInstanceUID}


def amend_and_approve(svc: Any, actors: dict[str, Any], exam_id: int, impression: str) -> None:
    from backend.services.reporting import reports as reporting
    from tests.reporting_helpers import FINDINGS

    r = reporting.amend(svc, exam_id, reason="补充诊断", by=actors["doctor"])
    r = reporting.save_draft(svc, exam_id, sections={"findings": FINDINGS, "impression": impression},
                             by=actors["doctor"], expected_lock=r["report"]["lock"])
    reporting.submit(svc, exam_id, by=actors["doctor"], expected_lock=r["report"]["lock"])
    reporting.approve(svc, exam_id, by=actors["senior"])


def add_structured_section(svc: Any, item: str = "DR-CHEST", key: str = "lung_rads") -> None:
    """Give the item a report template with a structured field besides the free text."""
    from sqlalchemy import select

    from backend.db.models import ExamItem, ReportTemplate
    from backend.services.base import transaction

    sections = [{"key": "findings", "title": "检查所见", "default": ""},
                {"key": "impression", "title": "诊断意见", "default": ""},
                {"key": key, "title": "Lung-RADS 分类", "default": ""}]
    with transaction(svc) as tx:
        tx.session.add(ReportTemplate(code="CADRE-TEST", name="结构化测试", modality_code="DR", kind="structured",
                                      sections=sections))
        row = tx.session.scalars(select(ExamItem).where(ExamItem.code == item)).one()
        row.report_template_code = "CADRE-TEST"
