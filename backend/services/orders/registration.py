"""Register (登记), edit and cancel exams; book and release appointment slots safely."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.db.models import Campus, Exam, ExamItem, Slot
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.exam_flow import EDITABLE, ExamStatus, Trigger
from backend.domain.numbering import accession_counter, accession_number
from backend.domain.permissions import Perm
from backend.domain.registration import OrderData, check_slot_choice, validate_order, validate_order_fields
from backend.domain.report_flow import ReportStatus
from backend.domain.slots import TIME_BANDS
from backend.services import audit, counters, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.orders import patients


def _item(tx: Tx, code: str) -> ExamItem:
    item = tx.session.scalars(select(ExamItem).where(ExamItem.code == code)).first()
    if item is None or not item.active:
        raise NotFound(f"检查项目不存在或已停用：{code}", code="unknown_exam_item")
    return item


def _campus_id(tx: Tx, code: str | None) -> int:
    q = select(Campus.id).order_by(Campus.id)
    if code:
        q = q.where(Campus.code == code)
    cid = tx.session.scalars(q).first()
    if cid is None:
        raise NotFound(f"院区不存在：{code}", code="unknown_campus")
    return cid


def book_slot(tx: Tx, slot_id: int, *, queue_id: int | None) -> Slot:
    """Take one place in a slot; the conditional UPDATE never lets `booked` pass `capacity`."""
    slot = tx.session.get(Slot, slot_id)
    if slot is None or not slot.active:
        raise NotFound(f"号源不存在或已停用：{slot_id}", code="unknown_slot")
    if queue_id is not None and slot.queue_id != queue_id:
        raise InvalidInput("所选号源不属于该检查项目的队列", code="slot_wrong_queue")
    if slot.ends_at <= tx.now:
        raise InvalidInput("所选号源时段已过", code="slot_past")
    result = tx.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict("该时段号源已满，请选择其他时段", code="slot_full", slot_id=slot_id)
    tx.session.refresh(slot)
    return slot


def release_slot(tx: Tx, slot_id: int) -> None:
    tx.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1).execution_options(synchronize_session=False)
    )


def register_in(tx: Tx, order: OrderData, *, by: Actor) -> Exam:
    """Register one exam inside the caller's transaction (the HL7 and JSON intakes reuse this)."""
    validate_order(order)
    item = _item(tx, order.item_code)
    check_slot_choice(needs_slot=item.needs_slot, patient_class=order.patient_class, slot_id=order.slot_id)
    if order.source_order_no:
        dup = tx.session.scalars(select(Exam.accession).where(
            Exam.source_system == order.source_system, Exam.source_order_no == order.source_order_no)).first()
        if dup:
            raise Conflict(f"重复的申请单：{order.source_order_no}（检查号 {dup}）", code="duplicate_order",
                           accession=dup)
    patient = patients.match_or_create(tx, order.patient)
    campus_id = _campus_id(tx, order.campus_code)
    slot = book_slot(tx, order.slot_id, queue_id=item.queue_id) if order.slot_id is not None else None
    day = tx.now.astimezone(tx.tz).date()
    exam = Exam(
        accession=accession_number(day, counters.next_value(tx, accession_counter(day))),
        patient_id=patient.id, exam_item_id=item.id, modality_code=item.modality_code, body_part=item.body_part,
        category=item.category, patient_class=order.patient_class, priority=order.priority,
        ordering_department=order.ordering_department[:64], ordering_doctor=order.ordering_doctor[:64],
        campus_id=campus_id, slot_id=slot.id if slot else None, scheduled_at=slot.starts_at if slot else None,
        source_system=order.source_system[:32], source_order_no=order.source_order_no,
        clinical_info=order.clinical_info, paid=order.paid, status=ExamStatus.ORDERED.value,
        report_status=ReportStatus.NONE.value, created_at=tx.now, updated_at=tx.now,
    )
    tx.session.add(exam)
    try:
        tx.session.flush()
    except IntegrityError as exc:  # a concurrent intake of the same order won the race
        raise Conflict(f"重复的申请单：{order.source_order_no}", code="duplicate_order") from exc
    timeline.append(tx, exam, TimelineKind.ORDERED, by, source=order.source_system, item=item.code)
    if slot is not None:
        timeline.apply_in(tx, exam, Trigger.SCHEDULE, by, slot_id=slot.id, band=slot.band)
    timeline.apply_in(tx, exam, Trigger.REGISTER, by)
    return exam


def register(svc: Services, order: OrderData, *, by: Actor) -> dict[str, Any]:
    """Register an exam from an order; a slot is required exactly when the item needs one."""
    by.require(Perm.EXAM_REGISTER)
    with transaction(svc) as tx:
        exam = register_in(tx, order, by=by)
        return {"exam_id": exam.id, "accession": exam.accession, "status": exam.status}


def cancel(svc: Services, exam_id: int, *, reason: str, by: Actor) -> dict[str, Any]:
    """Cancel an exam that has not started; its slot place is given back."""
    by.require(Perm.EXAM_REGISTER)
    if not reason.strip():
        raise InvalidInput("请填写取消原因", code="reason_required")
    with transaction(svc) as tx:
        exam = timeline.load_exam(tx, exam_id)
        timeline.apply_in(tx, exam, Trigger.CANCEL, by, reason=reason.strip()[:500])
        if exam.slot_id is not None:
            release_slot(tx, exam.slot_id)
        return {"exam_id": exam.id, "accession": exam.accession, "status": exam.status}


EDITABLE_FIELDS = ("priority", "patient_class", "ordering_department", "ordering_doctor", "clinical_info", "paid")


def edit(svc: Services, exam_id: int, *, changes: dict[str, Any], by: Actor,
         expected_version: int | None = None) -> dict[str, Any]:
    """Edit an exam before check-in; moving it to another slot books the new one first."""
    by.require(Perm.EXAM_REGISTER)
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"slot_id"}
    if unknown:
        raise InvalidInput(f"不可修改的字段：{', '.join(sorted(unknown))}", code="invalid_field")
    with transaction(svc) as tx:
        exam = timeline.load_exam(tx, exam_id)
        if expected_version is not None and exam.version != expected_version:
            raise Conflict("检查已被他人修改，请刷新后重试", code="stale_edit")
        if ExamStatus(exam.status) not in EDITABLE:
            raise Conflict(f"检查状态为 {exam.status}，不能修改", code="not_editable", current=exam.status)
        item = tx.session.get(ExamItem, exam.exam_item_id)
        assert item is not None
        merged = {f: getattr(exam, f) for f in EDITABLE_FIELDS} | {k: v for k, v in changes.items() if k != "slot_id"}
        validate_order_fields(patient_class=merged["patient_class"], priority=merged["priority"],
                              clinical_info=merged["clinical_info"] or "")
        if "slot_id" in changes and changes["slot_id"] != exam.slot_id:
            check_slot_choice(needs_slot=item.needs_slot, patient_class=merged["patient_class"],
                              slot_id=changes["slot_id"])
            new = book_slot(tx, changes["slot_id"], queue_id=item.queue_id) if changes["slot_id"] else None
            if exam.slot_id is not None:
                release_slot(tx, exam.slot_id)
            exam.slot_id, exam.scheduled_at = (new.id, new.starts_at) if new else (None, None)
        for f in EDITABLE_FIELDS:
            setattr(exam, f, merged[f])
        exam.updated_at = tx.now
        timeline.append(tx, exam, TimelineKind.EDITED, by, fields=sorted(changes))
        audit.record(tx, by, "update", "exam", exam.id, fields=sorted(changes))
        tx.session.flush()
        return {"exam_id": exam.id, "accession": exam.accession, "status": exam.status, "version": exam.version}


def available_slots(svc: Services, item_code: str, day: date, *, by: Actor) -> list[dict[str, Any]]:
    """The slots of an item's queue on one day, with what remains, for the slot picker."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        item = _item(tx, item_code)
        if not item.needs_slot or item.queue_id is None:
            return []
        rows = tx.session.scalars(select(Slot).where(Slot.queue_id == item.queue_id, Slot.day == day,
                                                     Slot.active.is_(True)).order_by(Slot.starts_at))
        tz = svc.tz
        return [{"id": s.id, "band": s.band, "band_label": TIME_BANDS.get(s.band, s.band),
                 "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat(),
                 "label": f"{s.starts_at.astimezone(tz):%H:%M}-{s.ends_at.astimezone(tz):%H:%M}",
                 "capacity": s.capacity, "booked": s.booked, "remaining": max(s.capacity - s.booked, 0),
                 "past": s.ends_at <= tx.now}
                for s in rows]

