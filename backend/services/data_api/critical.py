"""Read model of the `critical_values` dataset: one row per critical value, with its notification time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from backend.db.models import CriticalValue, Exam, Patient
from backend.services.base import Tx
from backend.services.data_api.readers import Row, RowReader, labelled

COLUMNS: dict[str, Any] = {
    "id": CriticalValue.id, "exam_id": Exam.id, "accession": Exam.accession, "modality": Exam.modality_code,
    "patient_class": Exam.patient_class, "patient_mrn": Patient.mrn, "patient_name": Patient.name,
    "finding": CriticalValue.finding, "urgency": CriticalValue.urgency, "status": CriticalValue.status,
    "raised_by": CriticalValue.raised_by, "raised_at": CriticalValue.raised_at,
    "notified_to": CriticalValue.notified_to, "notified_via": CriticalValue.notified_via,
    "notified_by": CriticalValue.notified_by, "notified_at": CriticalValue.notified_at,
    "read_back": CriticalValue.read_back, "acknowledged_by": CriticalValue.acknowledged_by,
    "acknowledged_at": CriticalValue.acknowledged_at,
}


def _select() -> Select[Any]:
    return (select(*labelled(COLUMNS))
            .join(Exam, Exam.id == CriticalValue.exam_id).join(Patient, Patient.id == Exam.patient_id))


def _finish(_tx: Tx, rows: list[Row]) -> None:
    """Notification time in minutes (the 10-minute rule's measure) and the row's last change."""
    for r in rows:
        raised, notified = r["raised_at"], r["notified_at"]
        r["notify_minutes"] = round((notified - raised).total_seconds() / 60, 1) if notified else None
        r["updated_at"] = max(t for t in (raised, notified, r["acknowledged_at"]) if t is not None)


READER = RowReader(select=_select, columns=COLUMNS, key=CriticalValue.id, exam_id=Exam.id, finish=_finish)
