"""Self check-in (kiosk) and nurse-desk check-in: identify the patient, list today's exams with their
eligibility, then check in every eligible exam, one transaction per exam (one failure undoes no other)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend.db.models import Campus, Exam, ExamItem, Patient, Queue, QueueTicket
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.checkin import (
    CheckinRules,
    ExamFacts,
    Ok,
    Refusal,
    Refused,
    TerminalFacts,
    check_eligibility,
    effective_priority,
    listed_for_checkin,
    refusal_text,
)
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.exam_flow import EXAM_STATUS_LABELS, OPEN_EXAM, ExamStatus, Trigger
from backend.domain.masking import mask_name
from backend.domain.numbering import ticket_code
from backend.domain.permissions import Perm
from backend.domain.queue_flow import OPEN_TICKET, TicketStatus, TicketTrigger
from backend.domain.queueing import initial_position
from backend.services import counters, settings_store, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import kiosks, requeue, tickets, triage

logger = logging.getLogger(__name__)
R = TypeVar("R")
METHODS = ("barcode", "evoucher", "mrn")


def _rules(tx: Tx, *, desk: bool) -> CheckinRules:
    values = settings_store.get_many_in(tx, "kiosk.early_window_min", "kiosk.late_after_min")
    return CheckinRules(early_window_min=int(values["kiosk.early_window_min"]),
                        late_after_min=int(values["kiosk.late_after_min"]), ignore_time_window=desk)


def _find_patient(tx: Tx, svc: Services, method: str, code: str) -> Patient | None:
    """barcode: accession or patient card (MRN); evoucher: the insurance platform's identity; mrn."""
    code = code.strip()
    if method not in METHODS:
        raise InvalidInput(f"未知的识别方式：{method}", code="invalid_method")
    if not code or len(code) > 512:
        return None
    if method == "evoucher":
        person = svc.ports.insurance.resolve(qr_payload=code)
        if person is None:
            return None
        cond = Patient.id_card == person.id_no
        if person.insurance_no:
            cond = or_(cond, Patient.insurance_no == person.insurance_no)
        return tx.session.scalars(select(Patient).where(cond).order_by(Patient.id)).first()
    if method == "barcode":
        pid = tx.session.scalars(select(Exam.patient_id).where(Exam.accession == code)).first()
        if pid is not None:
            return tx.session.get(Patient, pid)
    return tx.session.scalars(select(Patient).where(Patient.mrn == code)).first()


def _ticket_of(tx: Tx, exam_id: int) -> QueueTicket | None:
    return tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam_id)).first()


def _facts(tx: Tx, exam: Exam, item: ExamItem, ticket: QueueTicket | None) -> ExamFacts:
    """The rule's view of an exam with its ticket (None: it has none)."""
    current = ticket is not None and TicketStatus(ticket.status) in OPEN_TICKET and tickets.is_current(tx, ticket)
    return ExamFacts(exam_id=exam.id, status=exam.status, paid=exam.paid, needs_room=item.needs_room,
                     queue_id=item.queue_id, campus_id=exam.campus_id,
                     scheduled_at=exam.scheduled_at.astimezone(tx.tz) if exam.scheduled_at else None,
                     priority=exam.priority, patient_class=exam.patient_class,
                     ticket_status=ticket.status if ticket else None, ticket_current=current)


def _decide(tx: Tx, exam: Exam, terminal: TerminalFacts | None, rules: CheckinRules) -> tuple[Ok | Refused, ExamItem]:
    item = tx.session.get(ExamItem, exam.exam_item_id)
    assert item is not None
    return _eligibility(tx, _facts(tx, exam, item, _ticket_of(tx, exam.id)), terminal, rules), item


def _eligibility(tx: Tx, facts: ExamFacts, terminal: TerminalFacts | None, rules: CheckinRules) -> Ok | Refused:
    return check_eligibility(facts, terminal, at=tx.now, today=tickets.today(tx), rules=rules)


def _reason(tx: Tx, reason: Refusal, exam: Exam, rules: CheckinRules) -> dict[str, Any]:
    campus = tx.session.get(Campus, exam.campus_id)
    out = {"ok": False, "reason": reason.value,
           "message": refusal_text(reason, early_min=rules.early_window_min, campus=campus.name if campus else "")}
    if reason is Refusal.ALREADY_CHECKED_IN:
        out.update(_checked_in(tx, exam))
    return out


def _checked_in(tx: Tx, exam: Exam) -> dict[str, Any]:
    """An exam checked in already: its number while it waits or is called, so the kiosk shows and reprints it."""
    ticket = _ticket_of(tx, exam.id)
    if ticket is None or ticket.status not in (TicketStatus.WAITING.value, TicketStatus.CALLED.value):
        return {}
    return {"ticket": tickets.ticket_dict(tx, ticket), "people_ahead": tickets.ahead_of(tx, ticket)}


def _exam_row(tx: Tx, exam: Exam, item: ExamItem) -> dict[str, Any]:
    at = exam.scheduled_at.astimezone(tx.tz) if exam.scheduled_at else None
    return {"exam_id": exam.id, "accession": exam.accession, "item": item.name, "modality": exam.modality_code,
            "status": exam.status, "status_label": EXAM_STATUS_LABELS[ExamStatus(exam.status)],
            "scheduled": f"{at:%m-%d %H:%M}" if at else ""}


def _patient_exams(tx: Tx, patient_id: int, *, lock: bool = False
                   ) -> list[tuple[Exam, ExamItem, Queue | None, QueueTicket | None]]:
    """The patient's exams of today (open, or changed today), each with its item, the item's queue and the
    exam's ticket (`lock`: the exams row-locked first). The tickets are read after the lock, in a statement
    of their own: a join would show a waiter the tickets of its snapshot from before the lock, and miss the
    ticket that the check-in it waited for has just made."""
    start = datetime.combine(tickets.today(tx), time(0), tzinfo=tx.tz)
    q = (select(Exam, ExamItem, Queue).join(ExamItem, ExamItem.id == Exam.exam_item_id)
         .outerjoin(Queue, Queue.id == ExamItem.queue_id)
         .where(Exam.patient_id == patient_id, or_(Exam.status.in_(OPEN_EXAM), Exam.updated_at >= start))
         .order_by(Exam.scheduled_at, Exam.id).limit(20))
    rows = [(exam, item, queue) for exam, item, queue in tx.session.execute(q.with_for_update(of=Exam) if lock else q)]
    held = {t.exam_id: t for t in tx.session.scalars(
        select(QueueTicket).where(QueueTicket.exam_id.in_([exam.id for exam, _, _ in rows])))} if rows else {}
    return [(exam, item, queue, held.get(exam.id)) for exam, item, queue in rows]


Context = tuple[TerminalFacts | None, CheckinRules]


def _context(tx: Tx, terminal_code: str | None, by: Actor) -> Context:
    terminal = kiosks.terminal_facts(tx, terminal_code, by=by) if terminal_code else None
    return terminal, _rules(tx, desk=terminal is None)


@dataclass(frozen=True)
class _Listed:
    """One exam of the identified patient as the kiosk lists it, with the rule's decision."""
    exam: Exam
    item: ExamItem
    decision: Ok | Refused
    queue: Queue | None = None  # held here: the session's identity map keeps only what is referenced


def _identify(tx: Tx, svc: Services, ctx: Context, method: str, code: str, *,
              lock: bool = False) -> tuple[Patient, list[_Listed]]:
    """The patient and their exams of today with each exam's decision (`lock`: the exams row-locked first,
    so the decision holds for a check-in in this transaction)."""
    patient = _find_patient(tx, svc, method, code)
    if patient is None:
        raise NotFound(refusal_text(Refusal.UNKNOWN_CODE), code=Refusal.UNKNOWN_CODE.value)
    listed = []
    for exam, item, queue, ticket in _patient_exams(tx, patient.id, lock=lock):
        facts = _facts(tx, exam, item, ticket)  # the ticket read with the exam answers both questions
        if listed_for_checkin(facts):
            listed.append(_Listed(exam, item, _eligibility(tx, facts, *ctx), queue))
    return patient, listed


def _row(tx: Tx, one: _Listed, rules: CheckinRules) -> dict[str, Any]:
    row = _exam_row(tx, one.exam, one.item)
    row.update({"ok": True, "reason": None, "message": "可以签到"} if isinstance(one.decision, Ok)
               else _reason(tx, one.decision.reason, one.exam, rules))
    return row


def _lookup_in(tx: Tx, svc: Services, ctx: Context, method: str, code: str) -> dict[str, Any]:
    patient, listed = _identify(tx, svc, ctx, method, code)
    return {"patient_id": patient.id, "masked_name": mask_name(patient.name),
            "exams": [_row(tx, one, ctx[1]) for one in listed]}


def lookup(svc: Services, terminal_code: str | None, method: str, code: str, *, by: Actor) -> dict[str, Any]:
    """Identify the patient and list their exams with status and whether each may be checked in now."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc, readonly=True) as tx:
        return _lookup_in(tx, svc, _context(tx, terminal_code, by), method, code)


def _retrying(svc: Services, work: Callable[[Tx], R], what: str) -> R | None:
    """Run `work` in a write transaction, again after a lost race (up to three times); None after three."""
    for _attempt in range(3):
        try:
            with transaction(svc) as tx:
                return work(tx)
        except (IntegrityError, StaleDataError):
            logger.info("check-in race on %s, re-evaluating", what)
    return None


Visit = tuple[dict[str, Any], Context, list[dict[str, Any]], bool]


def _visit(tx: Tx, svc: Services, terminal_code: str | None, method: str, code: str, by: Actor) -> Visit:
    """Identify the patient and decide each exam under the exams' row locks. The usual visit (one exam to
    check in) is checked in here; with several, their rows come back to be checked in one by one.
    Answers (patient, context, rows, done)."""
    ctx = _context(tx, terminal_code, by)
    patient, listed = _identify(tx, svc, ctx, method, code, lock=True)
    found = {"patient_id": patient.id, "masked_name": mask_name(patient.name)}
    if sum(isinstance(one.decision, Ok) for one in listed) > 1:
        return found, ctx, [_row(tx, one, ctx[1]) for one in listed], False
    return found, ctx, [_write(tx, one.exam, one.item, one.decision, terminal_code, by, one.queue)
                        if isinstance(one.decision, Ok) else _row(tx, one, ctx[1]) for one in listed], True


def check_in(svc: Services, terminal_code: str | None, method: str, code: str, *, by: Actor) -> dict[str, Any]:
    """Check in every eligible exam of the identified patient; one result per exam.

    The usual visit has one exam to check in: it is identified, decided and checked in in one transaction
    under its row lock. Several exams go one transaction each, so one failure undoes no other."""
    by.require(Perm.EXAM_OPERATE)
    visit = _retrying(svc, lambda tx: _visit(tx, svc, terminal_code, method, code, by), "a visit")
    if visit is None:  # three lost races: each exam on its own, where a lost race answers "already checked in"
        with transaction(svc, readonly=True) as tx:
            ctx = _context(tx, terminal_code, by)
            lookup = _lookup_in(tx, svc, ctx, method, code)
        visit = ({k: lookup[k] for k in ("patient_id", "masked_name")}, ctx, lookup["exams"], False)
    found, ctx, rows, done = visit
    results = rows if done else [_check_in_one(svc, row["exam_id"], ctx, terminal_code, by) if row["ok"] else row
                                 for row in rows]
    logger.info("check-in terminal=%s exams=%s ok=%s", terminal_code or "desk",
                [r["exam_id"] for r in results], [r["ok"] for r in results])
    return {**found, "results": results}


def check_in_exam(svc: Services, exam_id: int, terminal_code: str | None, *, by: Actor) -> dict[str, Any]:
    """Check in one exam in its own transaction; a lost race answers "already checked in"."""
    by.require(Perm.EXAM_OPERATE)
    with transaction(svc, readonly=True) as tx:
        ctx = _context(tx, terminal_code, by)
    return _check_in_one(svc, exam_id, ctx, terminal_code, by)


def _check_in_one(svc: Services, exam_id: int, ctx: Context, terminal_code: str | None, by: Actor) -> dict[str, Any]:
    done = _retrying(svc, lambda tx: _check_in_in(tx, exam_id, ctx, terminal_code, by), f"exam {exam_id}")
    if done is not None:
        return done
    with transaction(svc, readonly=True) as tx:
        exam = timeline.load_exam(tx, exam_id, lock=False)
        return {**_exam_row(tx, exam, tx.session.get(ExamItem, exam.exam_item_id)),  # type: ignore[arg-type]
                **_reason(tx, Refusal.ALREADY_CHECKED_IN, exam, ctx[1])}


def _check_in_in(tx: Tx, exam_id: int, ctx: Context, terminal_code: str | None, by: Actor) -> dict[str, Any]:
    """Re-decide under the exam's row lock (the lookup was a snapshot), then write ticket and timeline."""
    exam = timeline.load_exam(tx, exam_id)
    decision, item = _decide(tx, exam, *ctx)
    if isinstance(decision, Ok):
        return _write(tx, exam, item, decision, terminal_code, by)
    return _row(tx, _Listed(exam, item, decision), ctx[1])


def _write(tx: Tx, exam: Exam, item: ExamItem, decision: Ok, terminal_code: str | None, by: Actor,
           queue: Queue | None = None) -> dict[str, Any]:
    """Check in an exam decided Ok under its row lock: the ticket, the timeline and the placement. `queue`:
    the item's queue when the caller read it with the exam (held, so that the ticket's reads find it in the
    session's identity map, which keeps only what is referenced)."""
    queue = queue or tx.session.get(Queue, item.queue_id)
    if decision.requeue:
        ticket = requeue.requeue_missed(tx, exam, by=by)
    elif decision.reissue:
        ticket = _reissue(tx, exam, item, by)
    else:
        timeline.apply_in(tx, exam, Trigger.CHECK_IN, by, terminal=terminal_code or "desk")
        ticket = _new_ticket(tx, exam, item, by)
    triage.place_ticket(tx, ticket, by)
    tx.session.flush()
    info = tickets.ticket_dict(tx, ticket)
    return {**_exam_row(tx, exam, item), "ok": True, "reason": None,
            "requeued": decision.requeue or decision.reissue,
            "message": "签到成功", "ticket": info, "people_ahead": tickets.ahead_of(tx, ticket)}


def _number(tx: Tx, queue: Queue) -> int:
    """Today's next number of the queue, skipping numbers that open tickets carried over from yesterday
    still hold in its line (two CT001 in one line would answer one call)."""
    day = tickets.today(tx)
    held = set(tx.session.scalars(select(QueueTicket.number).where(
        QueueTicket.queue_id == queue.id, QueueTicket.day < day, tickets.in_lines(tx),
        QueueTicket.status.in_(OPEN_TICKET))))
    number = counters.next_value(tx, f"ticket:{queue.id}:{day}")
    while number in held:
        number = counters.next_value(tx, f"ticket:{queue.id}:{day}")
    return number


def _reissue(tx: Tx, exam: Exam, item: ExamItem, by: Actor) -> QueueTicket:
    """The desk re-issues the ticket of an arrived exam that no line holds (stale, or none): today's number,
    in line as a walk-in from now (its old place was days ago)."""
    ticket = tx.session.scalars(select(QueueTicket).where(QueueTicket.exam_id == exam.id)
                                .with_for_update(of=QueueTicket)).first()
    if ticket is None:
        return _new_ticket(tx, exam, item, by)
    queue = tx.session.get(Queue, ticket.queue_id)
    assert queue is not None
    old_code = ticket.code
    ticket.day, ticket.number = tickets.today(tx), _number(tx, queue)
    ticket.code = ticket_code(queue.prefix, ticket.number)
    ticket.room_id, ticket.sort_at, ticket.line_at = None, tx.now, tx.now
    tickets.move(ticket, TicketTrigger.REQUEUE)
    exam.room_id = None
    tickets.record(tx, exam, ticket, TimelineKind.TICKET_REQUEUED, by, reason="reissued", old_code=old_code)
    return ticket


def _new_ticket(tx: Tx, exam: Exam, item: ExamItem, by: Actor) -> QueueTicket:
    assert item.queue_id is not None
    queue = tx.session.get(Queue, item.queue_id)
    assert queue is not None
    day = tickets.today(tx)
    number = _number(tx, queue)
    sort_at, line_at = initial_position(scheduled_at=exam.scheduled_at, checked_in_at=tx.now)
    ticket = QueueTicket(exam_id=exam.id, queue_id=queue.id, room_id=None, first_room_id=None, day=day,
                         number=number, code=ticket_code(queue.prefix, number), status=TicketStatus.WAITING.value,
                         priority=effective_priority(exam.priority, exam.patient_class), checked_in_at=tx.now,
                         sort_at=sort_at, line_at=line_at, call_count=0)
    tx.session.add(ticket)
    tx.session.flush()
    tickets.record(tx, exam, ticket, TimelineKind.TICKET_CREATED, by)
    return ticket
