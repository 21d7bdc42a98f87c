"""Read-only patient look-up for the registration desk: fill the form from a known MRN."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.db.models import Exam, Patient
from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, transaction


def find_by_mrn(svc: Services, mrn: str, *, by: Actor) -> dict[str, Any] | None:
    """The patient with this MRN (病案号) and how many exams they have, or None; the read is audited."""
    by.require(Perm.EXAM_REGISTER)
    mrn = (mrn or "").strip()
    if not mrn or len(mrn) > 32:
        return None
    with transaction(svc, readonly=True) as tx:
        p = tx.session.scalars(select(Patient).where(Patient.mrn == mrn)).first()
        if p is None:
            return None
        exams = tx.session.scalar(select(func.count()).select_from(Exam).where(Exam.patient_id == p.id)) or 0
        found = {"id": p.id, "mrn": p.mrn, "name": p.name, "sex": p.sex,
                 "birth_date": p.birth_date.isoformat() if p.birth_date else None, "id_card": p.id_card,
                 "phone": p.phone, "insurance_no": p.insurance_no, "cadre_health": p.cadre_health,
                 "military": p.military, "exam_count": int(exams)}
    audit.record_read(svc, by, "patient", found["id"])
    return found
