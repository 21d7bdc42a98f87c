"""Builders for cockpit and reminder tests: exams with timeline rows written at chosen moments.

Rows go through `timeline.append` / `timeline.apply_in`, so the rollups are maintained by the real
incremental path; report and critical-value kinds follow the reporting module's timeline contract.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import Campus, CriticalValue, Exam, ExamItem, Patient, Report
from backend.domain.actor import SYSTEM
from backend.domain.exam_flow import TRIGGER_EVENT
from backend.services import timeline
from backend.services.base import Services, transaction

ITEMS = {("CT", "routine"): "CT-CHEST", ("CT", "subspecialty"): "CT-LDCT", ("CT", "gcp"): "CT-GCP",
         ("MR", "routine"): "MR-BRAIN", ("MR", "subspecialty"): "MR-BREAST", ("MR", "gcp"): "MR-GCP",
         ("DX", "routine"): "DR-CHEST", ("MG", "subspecialty"): "MG-BILAT", ("RF", "routine"): "RF-UGI",
         ("US", "subspecialty"): "US-BREAST"}
KIND_TRIGGER = {v: k for k, v in TRIGGER_EVENT.items()}
_seq = itertools.count(1)


def make_exam(svc: Services, clock: Any, at: datetime, modality: str = "CT", category: str = "routine", *,
              patient_class: str = "outpatient", priority: str = "routine", name: str = "张三丰",
              scheduled_at: datetime | None = None) -> int:
    """An ordered exam created at `at` (with its `ordered` row); returns its id."""
    clock.set(at)
    n = next(_seq)
    with transaction(svc) as tx:
        item = tx.session.scalars(select(ExamItem).where(ExamItem.code == ITEMS[(modality, category)])).one()
        campus_id = tx.session.scalars(select(Campus.id).order_by(Campus.id)).first()
        patient = Patient(mrn=f"CK{n:07d}", name=name, sex="M", created_at=at)
        tx.session.add(patient)
        tx.session.flush()
        exam = Exam(accession=f"CK{at:%y%m%d}{n:05d}", patient_id=patient.id, exam_item_id=item.id,
                    modality_code=modality, category=category, patient_class=patient_class, priority=priority,
                    campus_id=campus_id, scheduled_at=scheduled_at, status="ordered", report_status="none",
                    created_at=at, updated_at=at)
        tx.session.add(exam)
        tx.session.flush()
        timeline.append(tx, exam, "ordered", SYSTEM)
        return exam.id


def event(svc: Services, clock: Any, exam_id: int, kind: str, at: datetime, **details: Any) -> None:
    """Write one timeline row at `at`: a procedure trigger through apply_in, any other kind by append."""
    clock.set(at)
    with transaction(svc) as tx:
        exam = timeline.load_exam(tx, exam_id)
        if kind in KIND_TRIGGER:
            timeline.apply_in(tx, exam, KIND_TRIGGER[kind], SYSTEM, **details)
            return
        if kind.startswith("report_"):
            exam.report_status = {"report_approved": "approved", "report_amended": "amended",
                                  "report_drafted": "draft", "report_submitted": "submitted"}.get(kind, "draft")
        timeline.append(tx, exam, kind, SYSTEM, **details)


def walk(svc: Services, clock: Any, exam_id: int, steps: list[tuple[str, datetime]]) -> None:
    for kind, at in steps:
        event(svc, clock, exam_id, kind, at)


def critical(svc: Services, exam_id: int, raised_at: datetime, notified_at: datetime | None) -> None:
    """A critical-value record as the reporting module fills it."""
    with transaction(svc) as tx:
        tx.session.add(CriticalValue(exam_id=exam_id, finding="急性颅内出血", raised_by="医师", raised_at=raised_at,
                                     notified_at=notified_at, notified_to="临床医师" if notified_at else None,
                                     status="notified" if notified_at else "raised"))


def assign_author(svc: Services, exam_id: int, author_id: int, at: datetime) -> None:
    """The exam's report taken by a doctor (a draft row with its author)."""
    with transaction(svc) as tx:
        tx.session.add(Report(exam_id=exam_id, status="draft", author_id=author_id, created_at=at))
