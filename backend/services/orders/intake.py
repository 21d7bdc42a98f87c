"""Receive health-check orders (PE-1, PE-2): register, cancel or change exams with no clerk involved.

Both channels (HL7 over MLLP and `POST /api/orders`) call `receive_order`. Idempotency has two keys:
the message control id (a repeat is answered from `inbound_messages` and changes nothing) and the placer
order number (a second NW for a known order with the same patient and item is acknowledged again).
The intake row is written in the same transaction as the exam it acted on.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.db.models import Exam, ExamItem
from backend.db.models.hl7_intake import InboundMessage
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.errors import Conflict, InvalidTransition
from backend.domain.exam_flow import EDITABLE, EXAM_STATUS_LABELS, ExamStatus, Trigger
from backend.domain.order_intake import (
    SOURCE_SYSTEM,
    AckCode,
    IntakeAction,
    IntakeCommand,
    IntakeOutcome,
    IntakeRejected,
    accepted,
    same_order,
    validate_command,
)
from backend.domain.permissions import Perm
from backend.domain.registration import OrderData, validate_order_fields
from backend.services import audit, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.orders import registration

logger = logging.getLogger(__name__)
CHANGE_FIELDS = ("priority", "ordering_department", "ordering_doctor", "clinical_info")


def receive_order(svc: Services, command: IntakeCommand, *, by: Actor) -> tuple[IntakeOutcome, bool]:
    """Act on one order event once; return its outcome and whether it was a repeat.

    Raises a DomainError (never writing anything) when the order is refused; callers turn it into
    an AR/AE ACK or an HTTP error with `order_intake.rejection`.
    """
    by.require(Perm.EXAM_REGISTER)
    validate_command(command)
    try:
        return _receive(svc, command, by)
    except (IntegrityError, Conflict) as exc:
        if isinstance(exc, Conflict) and exc.code != "duplicate_order":
            raise
        # A concurrent delivery of the same message or order won the race: answer from its record.
        logger.info("intake race on control id %s, answering from the stored record", command.control_id)
        return _receive(svc, command, by)


def _receive(svc: Services, command: IntakeCommand, by: Actor) -> tuple[IntakeOutcome, bool]:
    with transaction(svc) as tx:
        stored = _stored(tx, command)
        if stored is not None:
            return stored, True
        exam = _exam_by_placer(tx, command.placer_order_no)
        if command.action is IntakeAction.NEW:
            outcome, repeat = _new(tx, command, exam, by)
        elif command.action is IntakeAction.CANCEL:
            outcome, repeat = _cancel(tx, _known(exam, command), command, by), False
        else:
            outcome, repeat = _change(tx, _known(exam, command), command, by), False
        _record(tx, command, outcome)
        logger.info("intake %s %s -> %s exam %s", command.channel, command.action.value, outcome.ack.value,
                    outcome.exam_id)
        return outcome, repeat


def _stored(tx: Tx, command: IntakeCommand) -> IntakeOutcome | None:
    row = tx.session.scalars(select(InboundMessage).where(
        InboundMessage.sender == command.sender, InboundMessage.control_id == command.control_id)).first()
    if row is None:
        return None
    if row.fingerprint != command.fingerprint:
        raise IntakeRejected(f"消息控制号 {command.control_id} 已用于另一条内容不同的消息", code="duplicate_control_id",
                             ack=AckCode.AE, hl7_error="205", location="MSH^1^10")
    return IntakeOutcome(AckCode(row.ack_code), row.outcome, row.ack_text, exam_id=row.exam_id,
                         accession=row.accession, status=row.exam_status)


def _exam_by_placer(tx: Tx, placer: str) -> Exam | None:
    return tx.session.scalars(select(Exam).where(Exam.source_system == SOURCE_SYSTEM,
                                                 Exam.source_order_no == placer).with_for_update(of=Exam)).first()


def _known(exam: Exam | None, command: IntakeCommand) -> Exam:
    if exam is None:
        raise IntakeRejected(f"申请单不存在：{command.placer_order_no}（未收到该申请单的新开消息）",
                             code="order_not_found", ack=AckCode.AE, hl7_error="204", location="ORC^1^2")
    return exam


def _new(tx: Tx, command: IntakeCommand, exam: Exam | None, by: Actor) -> tuple[IntakeOutcome, bool]:
    order = command.order
    assert order is not None
    if exam is not None:
        item_code = tx.session.scalars(select(ExamItem.code).where(ExamItem.id == exam.exam_item_id)).one()
        if not same_order(item_code=item_code, mrn=exam.patient.mrn, order=order):
            raise IntakeRejected(f"申请单号 {command.placer_order_no} 已用于另一患者或检查项目",
                                 code="placer_order_conflict", ack=AckCode.AE, hl7_error="205", location="ORC^1^2")
        return IntakeOutcome(AckCode.AA, "order_repeat", f"重复申请单，已登记，检查号 {exam.accession}",
                             exam_id=exam.id, accession=exam.accession, status=exam.status), True
    health_check = OrderData(**{**_fields(order), "source_system": SOURCE_SYSTEM,
                                "source_order_no": command.placer_order_no, "slot_id": None})
    # The timeline's "ordered" row names the source; channel, control id and the requested time are
    # kept on the intake record, so that one registration writes no more rows than a desk one.
    exam = registration.register_in(tx, health_check, by=by)
    return accepted(IntakeAction.NEW, exam_id=exam.id, accession=exam.accession, status=exam.status), False


def _fields(order: OrderData) -> dict[str, Any]:
    return {f: getattr(order, f) for f in OrderData.__dataclass_fields__}


def _cancel(tx: Tx, exam: Exam, command: IntakeCommand, by: Actor) -> IntakeOutcome:
    """CA: cancel as the desk would (registration.cancel rules); a second cancel changes nothing."""
    if exam.status != ExamStatus.CANCELLED.value:
        try:
            timeline.apply_in(tx, exam, Trigger.CANCEL, by, reason=command.reason.strip()[:500] or "体检中心撤销申请",
                              placer_order_no=command.placer_order_no)
        except InvalidTransition as exc:
            label = EXAM_STATUS_LABELS[ExamStatus(exam.status)]
            raise IntakeRejected(f"检查已开始或已结束（{label}），不能取消，请联系放射科", code="exam_started",
                                 ack=AckCode.AE, hl7_error="207") from exc
        if exam.slot_id is not None:
            registration.release_slot(tx, exam.slot_id)
    return accepted(IntakeAction.CANCEL, exam_id=exam.id, accession=exam.accession, status=exam.status)


def _change(tx: Tx, exam: Exam, command: IntakeCommand, by: Actor) -> IntakeOutcome:
    """XO: change priority, ordering department/doctor and clinical information before check-in."""
    order = command.order
    assert order is not None
    if ExamStatus(exam.status) not in EDITABLE:
        label = EXAM_STATUS_LABELS[ExamStatus(exam.status)]
        raise IntakeRejected(f"检查状态为{label}，不能修改", code="not_editable", ack=AckCode.AE, hl7_error="207")
    item_code = tx.session.scalars(select(ExamItem.code).where(ExamItem.id == exam.exam_item_id)).one()
    if order.item_code != item_code:
        raise IntakeRejected("不能通过修改消息更换检查项目，请撤销原申请后新开", code="item_change_not_allowed",
                             ack=AckCode.AE, hl7_error="207", location="OBR^1^4")
    if order.patient.mrn != exam.patient.mrn:
        raise Conflict("修改消息的患者与原申请单不一致", code="patient_mismatch")
    validate_order_fields(patient_class=exam.patient_class, priority=order.priority,
                          clinical_info=order.clinical_info)
    changed = sorted(f for f in CHANGE_FIELDS if getattr(order, f) != getattr(exam, f))
    for f in changed:
        setattr(exam, f, getattr(order, f))
    if changed:
        exam.updated_at = tx.now
        timeline.append(tx, exam, TimelineKind.EDITED, by, fields=changed, placer_order_no=command.placer_order_no)
        audit.record(tx, by, "update", "exam", exam.id, fields=changed, channel=command.channel)
        tx.session.flush()
    return accepted(IntakeAction.CHANGE, exam_id=exam.id, accession=exam.accession, status=exam.status)


def _record(tx: Tx, command: IntakeCommand, outcome: IntakeOutcome) -> None:
    tx.session.add(InboundMessage(
        channel=command.channel, sender=command.sender[:64], control_id=command.control_id,
        message_type=command.message_type[:16], action=command.action.value,
        placer_order_no=command.placer_order_no, fingerprint=command.fingerprint, received_at=tx.now,
        outcome=outcome.code, ack_code=outcome.ack.value, ack_text=outcome.text[:200],
        exam_id=outcome.exam_id, accession=outcome.accession, exam_status=outcome.status,
        requested_at=command.requested_at,
    ))


def intake_log(svc: Services, *, by: Actor, placer_order_no: str | None = None,
               limit: int = 50) -> list[dict[str, Any]]:
    """The latest accepted order messages (newest first), for support and tests."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        q = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(min(limit, 200))
        if placer_order_no:
            q = q.where(InboundMessage.placer_order_no == placer_order_no)
        return [{"id": r.id, "channel": r.channel, "control_id": r.control_id, "message_type": r.message_type,
                 "action": r.action, "placer_order_no": r.placer_order_no, "outcome": r.outcome,
                 "ack": r.ack_code, "message": r.ack_text, "exam_id": r.exam_id, "accession": r.accession,
                 "received_at": r.received_at.isoformat(),
                 "requested_at": r.requested_at.isoformat() if r.requested_at else None}
                for r in tx.session.scalars(q)]


def link_order(svc: Services, command: IntakeCommand, *, exam_id: int, by: Actor) -> IntakeOutcome:
    """Attach a refused new order to an exam the desk registered for it (manual match, issue 14.12).

    The exam takes the order's placer number (so its result goes back to the center under it) and the
    message is recorded as accepted, so the center's resend of it is answered AA with this exam. Refused
    when the exam already answers another health-check order, or is not the order's exam item.
    """
    by.require(Perm.EXAM_REGISTER)
    if command.action is not IntakeAction.NEW or command.order is None:
        raise Conflict("只有新开申请单可以匹配到已有检查", code="not_a_new_order")
    with transaction(svc) as tx:
        if _stored(tx, command) is not None:
            raise Conflict("该消息已被接收，无需匹配", code="already_accepted")
        if _exam_by_placer(tx, command.placer_order_no) is not None:
            raise Conflict(f"申请单号 {command.placer_order_no} 已对应其他检查", code="placer_order_conflict")
        exam = timeline.load_exam(tx, exam_id)
        if exam.source_system == SOURCE_SYSTEM and exam.source_order_no:
            raise Conflict(f"检查 {exam.accession} 已对应体检申请单 {exam.source_order_no}", code="exam_has_order")
        item_code = tx.session.scalars(select(ExamItem.code).where(ExamItem.id == exam.exam_item_id)).one()
        if item_code != command.order.item_code:
            raise Conflict(f"检查项目不一致：申请单为 {command.order.item_code}，检查为 {item_code}",
                           code="item_mismatch")
        previous = {"source_system": exam.source_system, "source_order_no": exam.source_order_no}
        exam.source_system, exam.source_order_no, exam.updated_at = SOURCE_SYSTEM, command.placer_order_no, tx.now
        timeline.append(tx, exam, TimelineKind.EDITED, by, fields=["source_order_no"],
                        placer_order_no=command.placer_order_no, control_id=command.control_id)
        audit.record(tx, by, "order.link", "exam", exam.id, placer_order_no=command.placer_order_no, **previous)
        outcome = IntakeOutcome(AckCode.AA, "order_linked", f"已匹配到检查 {exam.accession}", exam_id=exam.id,
                                accession=exam.accession, status=exam.status)
        _record(tx, command, outcome)
        return outcome
