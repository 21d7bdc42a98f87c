"""Read model of the `cloud_uploads` dataset: the provincial health-cloud ledger, one row per study matched to
an exam (HC-1, LC-1); its incremental sync follows the ledger rows' own change time, and skipped studies (a
person removed them or the rule excluded them) are its cancellations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from backend.db.models import CloudLedgerStudy, Exam, Patient
from backend.domain.health_cloud import CloudStatus
from backend.services.data_api.readers import RowReader, labelled

COLUMNS: dict[str, Any] = {
    "id": CloudLedgerStudy.id, "exam_id": Exam.id, "accession": Exam.accession, "modality": Exam.modality_code,
    "patient_class": Exam.patient_class, "patient_mrn": Patient.mrn, "patient_name": Patient.name,
    "study_uid": CloudLedgerStudy.study_uid, "state": CloudLedgerStudy.status,
    "files_total": CloudLedgerStudy.files_total, "files_done": CloudLedgerStudy.files_done,
    "bytes_total": CloudLedgerStudy.bytes_total, "bytes_done": CloudLedgerStudy.bytes_done,
    "registration_id": CloudLedgerStudy.registration_id, "last_error": CloudLedgerStudy.reason,
    "next_try_at": CloudLedgerStudy.next_retry_at, "expires_at": CloudLedgerStudy.expires_at,
    "uploaded_at": CloudLedgerStudy.uploaded_at, "created_at": CloudLedgerStudy.created_at,
    "updated_at": CloudLedgerStudy.updated_at,
}


def _select() -> Select[Any]:
    return (select(*labelled(COLUMNS))
            .join(Exam, Exam.id == CloudLedgerStudy.exam_id).join(Patient, Patient.id == Exam.patient_id))


READER = RowReader(select=_select, columns=COLUMNS, key=CloudLedgerStudy.id, exam_id=Exam.id,
                   cancelled=("state", CloudStatus.SKIPPED.value), updated=CloudLedgerStudy.updated_at)
