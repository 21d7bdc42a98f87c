"""Demo images (issue 10 item 7): the synthetic chest CT studies (with their priors a year earlier), chest
radiographs and a mammography screening of a few demo exams, archived as if a scanner had sent them, and
the demo's known DICOM nodes (CT01, RECON from its settings, the command line)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from io import BytesIO
from typing import Any

from sqlalchemy import select

from backend.config import Settings
from backend.db.models import Exam, ExamItem, Patient
from backend.dicom.synthetic import DemoPatient, PatientKey, StudyKey, demo_studies
from backend.dicom.tags import header_of
from backend.domain.actor import SYSTEM
from backend.domain.exam_flow import ExamStatus
from backend.ports import NullNotifier
from backend.services.base import Services, transaction
from backend.services.imaging import archive, nodes

logger = logging.getLogger(__name__)
# item codes -> synthetic study kind, and how many demo exams of each get images
KINDS: dict[str, tuple[tuple[str, ...], int]] = {"chest_ct": (("CT-CHEST", "CT-LDCT"), 2),
                                                 "dx": (("DR-CHEST",), 2), "mg": (("MG-BILAT",), 1)}


def seed_images(settings: Settings, *, seed: int, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Seed the known nodes and archive the demo images (deterministic: the same seed gives the same bytes)."""
    from backend.bootstrap import build_services

    svc = build_services(settings, notifier=NullNotifier())
    started = time.monotonic()
    added = nodes.seed_nodes(svc, SYSTEM)
    patients = demo_patients(svc)
    count = size = 0
    for _key, instances in demo_studies(seed, patients):
        for ds in instances:
            buf = BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            data = buf.getvalue()
            archive.store_instance(svc, header_of(ds, transfer_syntax=str(ds.file_meta.TransferSyntaxUID)), data,
                                   received_from="CT01")
            count += 1
            size += len(data)
            if progress is not None:
                progress(count)
    recon_exam = recon_demo_exam(svc, patients)
    svc.session_factory.kw["bind"].dispose()
    return {"nodes_added": added, "patients": len(patients), "instances": count, "mb": round(size / 2**20, 1),
            "seconds": round(time.monotonic() - started, 1), "recon_exam": recon_exam}


def recon_demo_exam(svc: Services, patients: list[DemoPatient]) -> str | None:
    """LN-4..LN-7 in the demo: a registered lung-nodule reconstruction exam for the first chest-CT patient, whose
    archived studies are its priors (right-click it on the exam list -> 引用历史图像)."""
    from backend.domain.registration import OrderData, PatientData
    from backend.seed.reference import LUNG_NODULE_ITEM
    from backend.services.orders import registration

    chest = next((p for p in patients if p.kind == "chest_ct"), None)
    if chest is None:
        return None
    key = chest.key
    order = OrderData(patient=PatientData(mrn=key.patient_id, name=key.name, sex=key.sex, birth_date=key.birth_date),
                      item_code=LUNG_NODULE_ITEM, clinical_info="肺结节随访：请引用既往胸部 CT 行靶重建")
    return str(registration.register(svc, order, by=SYSTEM)["accession"])


def demo_patients(svc: Services) -> list[DemoPatient]:
    """The newest performed exams of each kind, one per patient, as the synthetic generator's patients."""
    out: list[DemoPatient] = []
    seen: set[int] = set()
    with transaction(svc, readonly=True) as tx:
        for kind, (codes, wanted) in KINDS.items():
            rows = tx.session.execute(
                select(Exam, Patient, ExamItem.name).join(Patient, Patient.id == Exam.patient_id)
                .join(ExamItem, ExamItem.id == Exam.exam_item_id)
                .where(ExamItem.code.in_(codes), Exam.status == ExamStatus.COMPLETED.value)
                .order_by(Exam.created_at.desc()).limit(50)).all()
            for exam, patient, item_name in rows:
                if len([p for p in out if p.kind == kind]) >= wanted:
                    break
                if patient.id in seen:
                    continue
                seen.add(patient.id)
                key = PatientKey(patient.mrn, patient.name, patient.sex if patient.sex in "MFO" else "O",
                                 patient.birth_date or date(1960, 1, 1))
                at = (exam.scheduled_at or exam.created_at).astimezone(svc.tz)
                out.append(DemoPatient(key, kind, StudyKey(exam.accession, at, item_name)))  # type: ignore[arg-type]
    return out
