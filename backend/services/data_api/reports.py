"""Read model of the `reports` dataset: each ever-approved report with its newest approved version's text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from backend.db.models import Exam, ExamItem, Patient, Report, ReportTemplate, ReportVersion, User
from backend.domain.data_datasets import REPORTS
from backend.domain.report_sections import printable
from backend.services.base import Tx
from backend.services.data_api import changes
from backend.services.data_api.readers import Row, RowReader, labelled

Author, Approver = aliased(User), aliased(User)
# The template of a report written without one (reporting's default sections).
FREE_SECTIONS = [{"key": "findings", "title": "检查所见", "kind": "text"},
                 {"key": "impression", "title": "诊断意见", "kind": "text"}]

COLUMNS: dict[str, Any] = {
    "report_id": Report.id, "exam_id": Exam.id, "accession": Exam.accession, "modality": Exam.modality_code,
    "patient_class": Exam.patient_class, "patient_mrn": Patient.mrn, "patient_name": Patient.name,
    "item_name": ExamItem.name, "status": Report.status, "template_code": Report.template_code,
    "reporting_doctor": Author.display_name, "approving_doctor": Approver.display_name,
    "approved_at": Report.approved_at,
}


def _select() -> Select[Any]:
    return (select(*labelled(COLUMNS))
            .join(Exam, Exam.id == Report.exam_id).join(Patient, Patient.id == Exam.patient_id)
            .join(ExamItem, ExamItem.id == Exam.exam_item_id)
            .outerjoin(Author, Author.id == Report.author_id).outerjoin(Approver, Approver.id == Report.approver_id))


def _templates(tx: Tx, codes: set[str]) -> dict[str, list[dict[str, Any]]]:
    if not codes:
        return {}
    rows = tx.session.scalars(select(ReportTemplate).where(ReportTemplate.code.in_(codes)))
    return {t.code: list(t.sections) for t in rows}


def _finish(tx: Tx, rows: list[Row]) -> None:
    """Attach each report's newest approved version: its sections, findings, impression and full text."""
    versions: dict[int, ReportVersion] = {}
    stmt = (select(ReportVersion).where(ReportVersion.report_id.in_([r["report_id"] for r in rows]),
                                        ReportVersion.approved_at.is_not(None)).order_by(ReportVersion.number))
    for version in tx.session.scalars(stmt):
        versions[version.report_id] = version
    templates = _templates(tx, {r["template_code"] for r in rows if r["template_code"]})
    last = changes.last_changes(tx, [r["exam_id"] for r in rows], REPORTS.change_kinds)
    for r in rows:
        v = versions.get(r["report_id"])
        sections = dict(v.sections) if v is not None else {}
        template = templates.get(r["template_code"] or "", FREE_SECTIONS)
        r["version"] = v.number if v is not None else 0
        r["sections"] = sections
        r["findings"] = str(sections.get("findings") or "")
        r["impression"] = str(sections.get("impression") or "")
        r["text"] = "\n".join(f"{title}：{text}" for title, text in printable(template, sections))
        r["updated_at"] = last.get(r["exam_id"], r["approved_at"])


READER = RowReader(select=_select, columns=COLUMNS, key=Report.id, exam_id=Exam.id, finish=_finish,
                   scope=(Report.approved_at.is_not(None),))
