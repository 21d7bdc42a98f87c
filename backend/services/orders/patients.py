"""Find or create patients by MRN (or ID-card number), keeping existing records intact."""

from __future__ import annotations

from sqlalchemy import select

from backend.db.models import Patient
from backend.domain.errors import Conflict
from backend.domain.registration import PatientData, validate_patient
from backend.services.base import Tx


def match_or_create(tx: Tx, data: PatientData) -> Patient:
    """Match by MRN, else by ID-card number; create when neither is known.

    An existing record only gains fields it lacks: an order never overwrites what the
    hospital's master index already holds. A different name on the same MRN is refused.
    """
    validate_patient(data)
    patient = tx.session.scalars(select(Patient).where(Patient.mrn == data.mrn)).first()
    if patient is None and data.id_card:
        patient = tx.session.scalars(select(Patient).where(Patient.id_card == data.id_card.upper())).first()
    if patient is None:
        patient = Patient(
            mrn=data.mrn, name=data.name.strip(), sex=data.sex, birth_date=data.birth_date,
            id_card=data.id_card.upper() if data.id_card else None, phone=data.phone,
            insurance_no=data.insurance_no, cadre_health=data.cadre_health, military=data.military,
            created_at=tx.now,
        )
        tx.session.add(patient)
        tx.session.flush()
        return patient
    if patient.name != data.name.strip():
        raise Conflict("病案号已存在，但姓名不一致，请核对患者身份", code="patient_mismatch")
    for attr in ("birth_date", "phone", "insurance_no"):
        if getattr(patient, attr) in (None, "") and getattr(data, attr):
            setattr(patient, attr, getattr(data, attr))
    if patient.id_card is None and data.id_card:
        patient.id_card = data.id_card.upper()
    if patient.sex == "U" and data.sex != "U":
        patient.sex = data.sex
    patient.cadre_health = patient.cadre_health or data.cadre_health
    patient.military = patient.military or data.military
    return patient
