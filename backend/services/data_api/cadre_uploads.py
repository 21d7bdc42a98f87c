"""Read model of the `cadre_uploads` dataset: the cadre-health upload ledger, one row per exam (CD-1, LC-1);
its incremental sync follows the ledger rows' own change time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from backend.db.models import CadreUpload, Exam, Patient
from backend.domain.cadre_health import CadreUploadState
from backend.services.data_api.readers import RowReader, labelled

COLUMNS: dict[str, Any] = {
    "id": CadreUpload.id, "exam_id": Exam.id, "accession": Exam.accession, "modality": Exam.modality_code,
    "patient_class": Exam.patient_class, "patient_mrn": Patient.mrn, "patient_name": Patient.name,
    "state": CadreUpload.state, "attempts": CadreUpload.attempts, "files_total": CadreUpload.files_total,
    "files_done": CadreUpload.files_done, "last_error": CadreUpload.last_error,
    "next_try_at": CadreUpload.next_try_at, "created_at": CadreUpload.created_at,
    "updated_at": CadreUpload.updated_at,
}


def _select() -> Select[Any]:
    return (select(*labelled(COLUMNS))
            .join(Exam, Exam.id == CadreUpload.exam_id).join(Patient, Patient.id == Exam.patient_id))


READER = RowReader(select=_select, columns=COLUMNS, key=CadreUpload.id, exam_id=Exam.id,
                   cancelled=("state", CadreUploadState.CANCELLED.value), updated=CadreUpload.updated_at)
