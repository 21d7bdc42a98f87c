"""The interface monitor (issue 14.12): every HL7 message in and out with its answer, and what staff do about
refused orders: re-process after a fix, match by hand to a patient or to an exam, send a result again.

Who may do what (backend/domain/permissions.py): the monitor and its actions need "登记检查"
(exam.register: the registration desk deals with orders); the raw message unmasked needs "系统管理"
(admin: interface engineers); everyone else reads it with the PID's names and numbers masked.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.db.models import Exam, Outbox, Patient
from backend.db.models.interfaces import InterfaceMessage
from backend.domain.actor import Actor
from backend.domain.errors import Conflict, DomainError, NotFound
from backend.domain.interface_monitor import (
    DIRECTION_LABELS,
    STATE_LABELS,
    Direction,
    MessageState,
    mask_er7,
    reason_label,
)
from backend.domain.order_intake import AckCode, IntakeCommand, IntakeOutcome, rejection
from backend.domain.outbox import OutboxState
from backend.domain.permissions import Perm
from backend.domain.registration import PatientData
from backend.services import audit, outbox
from backend.services.base import Services, transaction
from backend.services.orders import intake

logger = logging.getLogger(__name__)
VIEW = Perm.EXAM_REGISTER
RAW = Perm.ADMIN
_OUTBOX_STATE = {OutboxState.DONE.value: MessageState.SENT, OutboxState.DEAD.value: MessageState.DEAD}


def _state(row: InterfaceMessage, box: Outbox | None) -> MessageState:
    if row.direction == Direction.OUT.value and box is not None:
        return _OUTBOX_STATE.get(box.state, MessageState.QUEUED)
    return MessageState(row.state)


def _local(svc: Services, at: datetime | None) -> str:
    return at.astimezone(svc.tz).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _view(svc: Services, row: InterfaceMessage, box: Outbox | None) -> dict[str, Any]:
    state = _state(row, box)
    reason = row.reason or (row.first_reason if state is MessageState.RESOLVED else "")
    return {
        "id": row.id, "direction": row.direction, "direction_label": DIRECTION_LABELS[Direction(row.direction)],
        "at": _local(svc, row.at), "partner": row.partner, "control_id": row.control_id,
        "message_type": row.message_type, "placer_order_no": row.placer_order_no, "state": state.value,
        "state_label": STATE_LABELS[state], "ack": row.ack_code, "reason": reason,
        "reason_label": reason_label(reason) if reason else "", "first_reason": row.first_reason,
        "first_reason_label": reason_label(row.first_reason) if row.first_reason else "",
        "ack_text": row.ack_text, "charset": row.charset, "exam_id": row.exam_id, "accession": row.accession or "",
        "attempts": box.attempts if box is not None else row.attempts,
        "next_try_at": _local(svc, box.next_try_at) if box is not None and state is MessageState.QUEUED else "",
        "last_error": box.last_error if box is not None else "", "handled_by": row.handled_by,
        "handled_at": _local(svc, row.handled_at), "note": row.note,
    }


def list_messages(svc: Services, *, by: Actor, direction: str | None = None, state: str | None = None,
                  ack: str | None = None, reason: str | None = None, q: str | None = None,
                  day_from: date | None = None, day_to: date | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Messages newest first, filtered by direction, state, ACK code, reason, days (site time) and a search
    over control id, placer order number and accession."""
    by.require(VIEW)
    stmt = (select(InterfaceMessage, Outbox).outerjoin(Outbox, Outbox.id == InterfaceMessage.outbox_id)
            .order_by(InterfaceMessage.id.desc()).limit(max(1, min(limit, 500))))
    if direction:
        stmt = stmt.where(InterfaceMessage.direction == Direction(direction).value)
    if ack:
        stmt = stmt.where(InterfaceMessage.ack_code == AckCode(ack).value)
    if reason:
        stmt = stmt.where(or_(InterfaceMessage.reason == reason, InterfaceMessage.first_reason == reason))
    if q and q.strip():
        term = q.strip()[:64]
        stmt = stmt.where(or_(InterfaceMessage.control_id == term, InterfaceMessage.placer_order_no == term,
                              InterfaceMessage.accession == term))
    tz = svc.tz
    if day_from:
        stmt = stmt.where(InterfaceMessage.at >= datetime.combine(day_from, time(), tz))
    if day_to:
        stmt = stmt.where(InterfaceMessage.at < datetime.combine(day_to + timedelta(days=1), time(), tz))
    with transaction(svc, readonly=True) as tx:
        rows = [_view(svc, m, b) for m, b in tx.session.execute(stmt).all()]
    return [r for r in rows if not state or r["state"] == MessageState(state).value]


def reasons(svc: Services, *, by: Actor) -> list[str]:
    """The refusal codes seen so far (for the filter)."""
    by.require(VIEW)
    with transaction(svc, readonly=True) as tx:
        found = [*tx.session.scalars(select(InterfaceMessage.first_reason).distinct()),
                 *tx.session.scalars(select(InterfaceMessage.reason).distinct())]
    return sorted({r for r in found if r})


def detail(svc: Services, message_id: int, *, by: Actor) -> dict[str, Any]:
    """One message with its text: unmasked for admins (and the reading audited), masked for everyone else."""
    by.require(VIEW)
    with transaction(svc) as tx:
        row = _load(tx.session, message_id)
        box = tx.session.get(Outbox, row.outbox_id) if row.outbox_id else None
        view = _view(svc, row, box)
        if by.can(RAW):
            view["text"], view["masked"] = row.text, False
            audit.record(tx, by, "read_raw", "interface_message", row.id)
        else:
            view["text"], view["masked"] = mask_er7(row.text), True
        view["size"] = len(row.raw)
    return view


def _load(session: Session, message_id: int) -> InterfaceMessage:
    row = session.get(InterfaceMessage, message_id)
    if row is None:
        raise NotFound("未找到该接口消息", code="interface_message_not_found")
    return row


def _refused(svc: Services, message_id: int) -> tuple[bytes, str]:
    with transaction(svc, readonly=True) as tx:
        row = _load(tx.session, message_id)
        if row.direction != Direction.IN.value or row.state != MessageState.REFUSED.value:
            raise Conflict("只有被拒收的申请单消息可以重新处理或匹配", code="not_refused")
        return row.raw, row.control_id


def _decode(svc: Services, raw: bytes) -> IntakeCommand:
    decoder = svc.ports.order_decoder
    if decoder is None:
        raise Conflict("未配置体检接口，无法重新处理", code="interface_not_configured")
    return decoder.decode_order(raw=raw, tz=svc.tz)


def _settle(svc: Services, message_id: int, outcome: IntakeOutcome, *, by: Actor, note: str) -> dict[str, Any]:
    """Write what a handling came to onto the message row (resolved on AA, else the new reason)."""
    with transaction(svc) as tx:
        row = _load(tx.session, message_id)
        done = outcome.ack is AckCode.AA
        row.state = (MessageState.RESOLVED if done else MessageState.REFUSED).value
        row.reason = "" if done else outcome.code[:32]
        row.attempts += 1
        row.handled_by, row.handled_at, row.updated_at = by.name[:64], tx.now, tx.now
        row.note = f"{note}：{outcome.text}"[:200]  # the ACK and its text stay what the center was answered
        if done:
            row.exam_id, row.accession = outcome.exam_id, outcome.accession
        audit.record(tx, by, "interface.handle", "interface_message", row.id, note=note[:200], outcome=outcome.code,
                     first_reason=row.first_reason)
    logger.info("interface message %s handled: %s", message_id, outcome.code)
    return detail(svc, message_id, by=by)


def _attempt(svc: Services, message_id: int, by: Actor, note: str, act: Any) -> dict[str, Any]:
    try:
        outcome = act()
    except DomainError as exc:
        outcome = rejection(exc)
    return _settle(svc, message_id, outcome, by=by, note=note)


def reprocess(svc: Services, message_id: int, *, by: Actor) -> dict[str, Any]:
    """Run a refused order through intake again (after the cause was fixed, e.g. its exam item added)."""
    by.require(VIEW)
    raw, _ = _refused(svc, message_id)
    return _attempt(svc, message_id, by, "重新处理",
                    lambda: intake.receive_order(svc, _decode(svc, raw), by=by)[0])


def match_patient(svc: Services, message_id: int, *, mrn: str, by: Actor) -> dict[str, Any]:
    """Register a refused new order for the patient staff picked (by MRN) instead of the one it names."""
    by.require(VIEW)
    raw, _ = _refused(svc, message_id)
    with transaction(svc, readonly=True) as tx:
        p = tx.session.scalars(select(Patient).where(Patient.mrn == (mrn or "").strip())).first()
        if p is None:
            raise NotFound(f"未找到病案号为 {mrn} 的患者", code="patient_not_found")
        chosen = PatientData(mrn=p.mrn, name=p.name, sex=p.sex, birth_date=p.birth_date, id_card=p.id_card,
                             phone=p.phone, insurance_no=p.insurance_no, cadre_health=p.cadre_health,
                             military=p.military)

    def act() -> IntakeOutcome:
        command = _decode(svc, raw)
        if command.order is None:
            raise Conflict("该消息不含患者信息，不能匹配患者", code="not_a_new_order")
        # The fingerprint stays the message's own: the center's resend of it is then answered from the record.
        matched = replace(command, order=replace(command.order, patient=chosen))
        return intake.receive_order(svc, matched, by=by)[0]

    return _attempt(svc, message_id, by, f"匹配患者 {chosen.mrn}", act)


def match_exam(svc: Services, message_id: int, *, accession: str, by: Actor) -> dict[str, Any]:
    """Attach a refused new order to the exam (by accession) the desk registered for the client."""
    by.require(VIEW)
    raw, _ = _refused(svc, message_id)
    with transaction(svc, readonly=True) as tx:
        exam_id = tx.session.scalars(select(Exam.id).where(Exam.accession == (accession or "").strip())).first()
    if exam_id is None:
        raise NotFound(f"未找到检查号 {accession}", code="exam_not_found")
    return _attempt(svc, message_id, by, f"匹配检查 {accession.strip()}",
                    lambda: intake.link_order(svc, _decode(svc, raw), exam_id=exam_id, by=by))


def resend(svc: Services, message_id: int, *, by: Actor) -> dict[str, Any]:
    """Send a result that was given up (dead) again, with a fresh count of attempts (admins: the outbox)."""
    by.require(VIEW)
    with transaction(svc, readonly=True) as tx:
        row = _load(tx.session, message_id)
        if row.direction != Direction.OUT.value or row.outbox_id is None:
            raise Conflict("只有发送失败的结果消息可以重发", code="not_outbound")
        box_id = row.outbox_id
    outbox.retry(svc, box_id, by=by)
    return detail(svc, message_id, by=by)
