"""Modality worklist from the day's registered exams, and MPPS driving the exam state machine (IHE SWF):
a scanner fetches its worklist instead of retyping it, and its own start and end move the exam."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from backend.db.models import Exam, ExamItem, Patient, PerformedStep, Room
from backend.domain.actor import Actor
from backend.domain.errors import InvalidTransition
from backend.domain.exam_flow import ExamStatus, Trigger
from backend.domain.imaging import FINAL_STEPS, STEP_TRIGGER, WORKLIST_STATUSES, StepStatus
from backend.domain.permissions import Perm
from backend.services import timeline
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorklistItem:
    exam_id: int
    accession: str
    patient_id: str
    patient_name: str
    patient_sex: str
    patient_birth_date: date | None
    modality: str
    item_code: str
    item_name: str
    body_part: str
    scheduled_at: datetime  # local time of the site
    station: str  # the room's code, when the exam has a room
    ordering_doctor: str
    priority: str


def worklist(svc: Services, *, day: date | None = None, modality: str | None = None,
             accession: str | None = None, patient_id: str | None = None) -> list[WorklistItem]:
    """The day's (default: today's, local) registered or checked-in exams, by scheduled time."""
    local_day = day or svc.clock().astimezone(svc.tz).date()
    start = datetime.combine(local_day, time(0), tzinfo=svc.tz)
    end = start + timedelta(days=1)
    when = func.coalesce(Exam.scheduled_at, Exam.created_at)
    q = (select(Exam, Patient, ExamItem, Room.code).join(Patient, Patient.id == Exam.patient_id)
         .join(ExamItem, ExamItem.id == Exam.exam_item_id).outerjoin(Room, Room.id == Exam.room_id)
         .where(Exam.status.in_(WORKLIST_STATUSES), when >= start, when < end))
    if modality:
        q = q.where(Exam.modality_code == modality)
    if accession:
        q = q.where(Exam.accession == accession)
    if patient_id:
        q = q.where(Patient.mrn == patient_id)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.execute(q.order_by(when, Exam.id).limit(1000)).all()
        return [WorklistItem(e.id, e.accession, p.mrn, p.name, p.sex, p.birth_date, e.modality_code, i.code,
                             i.name, e.body_part, (e.scheduled_at or e.created_at).astimezone(svc.tz), room or "",
                             e.ordering_doctor, e.priority) for e, p, i, room in rows]


class StepRefused(Exception):
    """An MPPS request we cannot apply; `status` is the DIMSE status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


NO_SUCH_INSTANCE, DUPLICATE_INSTANCE, PROCESSING_FAILURE, INVALID_VALUE = 0x0112, 0x0111, 0x0110, 0x0106


def _actor(ae: str) -> Actor:
    return Actor(kind="dicom", id=None, name=ae[:16], perms=frozenset({Perm.EXAM_OPERATE.value}))


def start_step(svc: Services, *, step_uid: str, accession: str, status: str, performed_by: str) -> int | None:
    """N-CREATE: record the step and start its exam (an exam already started stays as it is)."""
    if status != StepStatus.IN_PROGRESS:
        raise StepRefused(INVALID_VALUE, "N-CREATE must be IN PROGRESS")
    with transaction(svc) as tx:
        if tx.session.scalars(select(PerformedStep.id).where(PerformedStep.sop_instance_uid == step_uid)).first():
            raise StepRefused(DUPLICATE_INSTANCE, "performed procedure step exists")
        exam = tx.session.scalars(select(Exam).where(Exam.accession == accession)).first() if accession else None
        tx.session.add(PerformedStep(sop_instance_uid=step_uid, exam_id=exam.id if exam else None,
                                     step_status=StepStatus.IN_PROGRESS.value, performed_by=performed_by[:16],
                                     created_at=tx.now, updated_at=tx.now))
        if exam is None:
            logger.info("MPPS from %s for no known exam: recorded only", performed_by)
            return None
        _fire(tx, exam, StepStatus.IN_PROGRESS, performed_by, step_uid)
        return exam.id


def set_step(svc: Services, *, step_uid: str, status: str | None, performed_by: str) -> int | None:
    """N-SET: a final status (COMPLETED, DISCONTINUED) ends the exam; a final step is never changed again."""
    with transaction(svc) as tx:
        step = tx.session.scalars(select(PerformedStep).where(PerformedStep.sop_instance_uid == step_uid)
                                  .with_for_update()).first()
        if step is None:
            raise StepRefused(NO_SUCH_INSTANCE, "no such performed procedure step")
        if StepStatus(step.step_status) in FINAL_STEPS:
            raise StepRefused(PROCESSING_FAILURE, "performed procedure step is already final")
        if status is None or status == StepStatus.IN_PROGRESS:
            step.updated_at = tx.now
            return step.exam_id
        if status not in StepStatus.__members__.values():
            raise StepRefused(INVALID_VALUE, f"unknown step status {status!r}")
        new = StepStatus(status)
        step.step_status, step.updated_at = new.value, tx.now
        exam = tx.session.get(Exam, step.exam_id, with_for_update=True) if step.exam_id else None
        if exam is not None:
            _fire(tx, exam, new, performed_by, step_uid)
        return step.exam_id


def _fire(tx: Tx, exam: Exam, status: StepStatus, ae: str, step_uid: str) -> None:
    trigger = Trigger(STEP_TRIGGER[status])
    if trigger is Trigger.START and ExamStatus(exam.status) is ExamStatus.IN_PROGRESS:
        return  # the technologist pressed start first: the scanner's start changes nothing
    try:
        timeline.apply_in(tx, exam, trigger, _actor(ae), mpps=step_uid, by_modality=ae)
    except InvalidTransition:
        logger.warning("MPPS %s from %s does not apply to exam %s in status %s", status.value, ae, exam.id,
                       exam.status)
