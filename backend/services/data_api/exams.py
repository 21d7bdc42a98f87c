"""Read model of the `exams` dataset: one row per exam, joined in one SELECT, times from the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from backend.db.models import Campus, Exam, ExamItem, Patient, QueueTicket, Report, Room, User
from backend.domain.exam_flow import TRIGGER_EVENT, ExamStatus, Trigger
from backend.services.base import Tx
from backend.services.data_api import changes
from backend.services.data_api.readers import Row, RowReader, labelled

Author, Approver = aliased(User), aliased(User)
STARTED, COMPLETED = TRIGGER_EVENT[Trigger.START], TRIGGER_EVENT[Trigger.COMPLETE]

COLUMNS: dict[str, Any] = {
    "id": Exam.id, "accession": Exam.accession, "status": Exam.status, "report_status": Exam.report_status,
    "patient_class": Exam.patient_class, "priority": Exam.priority, "category": Exam.category,
    "modality": Exam.modality_code, "item_code": ExamItem.code, "item_name": ExamItem.name,
    "body_part": Exam.body_part, "campus_code": Campus.code, "campus_name": Campus.name, "room_code": Room.code,
    "room_name": Room.name, "ordering_department": Exam.ordering_department,
    "ordering_doctor": Exam.ordering_doctor, "reporting_doctor": Author.display_name,
    "approving_doctor": Approver.display_name, "patient_id": Patient.id, "patient_mrn": Patient.mrn,
    "patient_name": Patient.name, "patient_sex": Patient.sex, "patient_birth_date": Patient.birth_date,
    "patient_id_card": Patient.id_card, "patient_phone": Patient.phone, "cadre_health": Patient.cadre_health,
    "placer_order_no": Exam.source_order_no, "created_at": Exam.created_at, "scheduled_at": Exam.scheduled_at,
    "checked_in_at": QueueTicket.checked_in_at, "report_submitted_at": Report.submitted_at,
    "report_approved_at": Report.approved_at, "report_due_at": Exam.report_due_at,
}


def _select() -> Select[Any]:
    return (select(*labelled({**COLUMNS, "_updated": Exam.updated_at}))
            .join(Patient, Patient.id == Exam.patient_id).join(ExamItem, ExamItem.id == Exam.exam_item_id)
            .join(Campus, Campus.id == Exam.campus_id).outerjoin(Room, Room.id == Exam.room_id)
            .outerjoin(QueueTicket, QueueTicket.exam_id == Exam.id).outerjoin(Report, Report.exam_id == Exam.id)
            .outerjoin(Author, Author.id == Report.author_id).outerjoin(Approver, Approver.id == Report.approver_id))


def _finish(tx: Tx, rows: list[Row]) -> None:
    """Add the start and end of each exam and its last change, from one grouped timeline read."""
    ids = [r["id"] for r in rows]
    firsts, last = changes.times_of(tx, ids, (STARTED, COMPLETED), None)
    for r in rows:
        r["started_at"] = firsts.get((r["id"], STARTED))
        r["completed_at"] = firsts.get((r["id"], COMPLETED))
        updated = r.pop("_updated")
        r["updated_at"] = max(t for t in (updated, last.get(r["id"])) if t is not None)


READER = RowReader(select=_select, columns=COLUMNS, key=Exam.id, exam_id=Exam.id, finish=_finish,
                   cancelled=("status", ExamStatus.CANCELLED.value), deletes_by_exam=True)
