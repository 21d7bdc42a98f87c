"""Set an exam's report due time from the turnaround targets when the exam ends (ER-1)."""

from __future__ import annotations

from backend.db.models import Exam, ExamItem
from backend.domain.turnaround import needs_reminder, report_due
from backend.services import settings_store
from backend.services.base import Tx


def set_due(tx: Tx, exam: Exam) -> None:
    """Store `report_due_at` = exam end + the target for its item, or its class, modality and priority."""
    targets = settings_store.get_in(tx, "tat.targets")
    item = tx.session.get(ExamItem, exam.exam_item_id)
    urgent = needs_reminder(patient_class=exam.patient_class, priority=exam.priority)
    own = None if item is None else (item.tat_emergency_min if urgent else item.tat_routine_min)
    exam.report_due_at = report_due(targets, patient_class=exam.patient_class, modality=exam.modality_code,
                                    priority=exam.priority, completed_at=tx.now, item_minutes=own)
