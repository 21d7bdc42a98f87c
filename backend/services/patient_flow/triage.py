"""Room placement of queue tickets (ultrasound auto-triage, US-1, US-9, US-11, US-15).

The patient-flow services call `place_ticket` (check-in) and `room_freed` (an exam finished); shift
sessions call `session_opened` / `session_closed`; the triage desk calls `assign`. Tickets of queues that
no active shift links are left alone (a room calls them from the queue, as before). Every change of a
room's load here happens under that room's row lock, so concurrent check-ins never overfill a room.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import or_, select

from backend.db.models import Exam, ExamItem, Queue, QueueTicket, Setting
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.dispatch import Choice, age_on, choose_room, may_pass_cap, priority_classes
from backend.domain.enums import Priority
from backend.domain.errors import Conflict
from backend.domain.exam_flow import ExamStatus
from backend.domain.numbering import ticket_code
from backend.domain.permissions import Perm
from backend.domain.queue_flow import ROOM_LOAD, TicketStatus, line_start
from backend.domain.queueing import TicketFacts, in_order
from backend.domain.settings_catalog import catalog
from backend.services import timeline
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import dispatch_state as ds
from backend.services.patient_flow import tickets

logger = logging.getLogger(__name__)
WAITING = TicketStatus.WAITING.value


def _exam(tx: Tx, ticket: QueueTicket) -> Exam:
    exam = tx.session.get(Exam, ticket.exam_id)
    return exam if exam is not None else timeline.load_exam(tx, ticket.exam_id)


def _put(tx: Tx, ticket: QueueTicket, room_id: int | None) -> Exam:
    ticket.room_id = room_id
    if room_id is not None and ticket.first_room_id is None:
        ticket.first_room_id = room_id  # where a missed patient returns to (US-11)
    exam = _exam(tx, ticket)
    exam.room_id = room_id
    return exam


@dataclass(frozen=True, slots=True)
class PriorityRules:
    """The priority settings, read once per decision or per board (issue 15 item 7)."""

    elderly_age: int
    pregnant_items: frozenset[str]
    pass_cap: bool
    military: bool = False


PRIORITY_KEYS = ("us.priority_elderly_age", "us.priority_pregnant_items", "us.priority_pass_cap",
                 "us.priority_military")


def priority_rules(tx: Tx) -> PriorityRules:
    stored: dict[str, Any] = {str(k): v for k, v in tx.session.execute(
        select(Setting.key, Setting.value).where(Setting.key.in_(PRIORITY_KEYS)))}
    cat = catalog()
    v = {k: stored.get(k, cat[k].default) for k in PRIORITY_KEYS}
    return PriorityRules(int(v["us.priority_elderly_age"]), frozenset(v["us.priority_pregnant_items"] or []),
                         bool(v["us.priority_pass_cap"]), bool(v["us.priority_military"]))


def classes_of(tx: Tx, exam: Exam, rules: PriorityRules | None = None, item_code: str | None = None) -> list[str]:
    """The patient's priority classes (急诊, 危重, and 老人/孕妇/军人 by their settings, issue 15 item 7)."""
    rules = rules or priority_rules(tx)
    if rules.pregnant_items and item_code is None:
        item = tx.session.get(ExamItem, exam.exam_item_id)
        item_code = item.code if item else None
    return classes_for(rules, patient_class=exam.patient_class, priority=exam.priority,
                       birth=exam.patient.birth_date, item_code=item_code, today=tickets.today(tx),
                       military=exam.patient.military)


def classes_for(rules: PriorityRules, *, patient_class: str, priority: str, birth: date | None,
                item_code: str | None, today: date, dispatched: bool = True, military: bool = False) -> list[str]:
    """The priority classes from plain values. 老人/孕妇/军人 are ultrasound-dispatch settings: outside dispatched
    queues only 急诊 and 危重 count (they go first in every line). 军人 reads the patient's flag (`military`, set
    at registration) when `us.priority_military` is on."""
    age = age_on(birth, today) if rules.elderly_age and dispatched else None
    return priority_classes(
        patient_class=patient_class, priority=priority, age=age, elderly_age=rules.elderly_age if dispatched else 0,
        pregnant=item_code in rules.pregnant_items, pregnant_on=dispatched and bool(rules.pregnant_items),
        military=military, military_on=dispatched and rules.military)


def _patient_rooms(tx: Tx, exam: Exam, ticket: QueueTicket) -> tuple[dict[int, QueueTicket], list[int]]:
    """The patient's other open tickets (waiting or called) in the current lines, in one read: the rooms
    holding one, each with its earliest (the visit there, which another exam joins: item 5), and the ids of
    those still waiting in the pool."""
    rows = tx.session.scalars(select(QueueTicket).join(Exam, Exam.id == QueueTicket.exam_id).where(
        Exam.patient_id == exam.patient_id, QueueTicket.id != ticket.id, tickets.in_lines(tx),
        QueueTicket.status.in_(ROOM_LOAD)).order_by(QueueTicket.id))
    rooms: dict[int, QueueTicket] = {}
    pool: list[int] = []
    for t in rows:
        if t.room_id is not None:
            rooms.setdefault(int(t.room_id), t)
        elif t.status == WAITING:
            pool.append(t.id)
    return rooms, pool


def own_code(tx: Tx, ticket: QueueTicket) -> str:
    """The ticket's own number in its queue (CT015), whatever visit it joined."""
    queue = tx.session.get(Queue, ticket.queue_id)
    return ticket_code(queue.prefix, ticket.number) if queue is not None else ticket.code


def _join(ticket: QueueTicket, lead: QueueTicket) -> None:
    """One number per visit (item 5): the exam takes the number of the patient's visit in the room and stands
    right behind it in line, so the room calls the patient once for both."""
    ticket.code = lead.code
    ticket.sort_at, ticket.line_at = lead.sort_at, lead.line_at or lead.checked_in_at


def companions(tx: Tx, ticket: QueueTicket, status: TicketStatus, room_id: int | None = None) -> list[QueueTicket]:
    """The other tickets of the same visit (same patient, room and number) in `status`, row-locked."""
    room = room_id if room_id is not None else ticket.room_id
    if room is None:
        return []
    exam = _exam(tx, ticket)
    return list(tx.session.scalars(select(QueueTicket).join(Exam, Exam.id == QueueTicket.exam_id).where(
        Exam.patient_id == exam.patient_id, QueueTicket.id != ticket.id, QueueTicket.room_id == room,
        QueueTicket.code == ticket.code, QueueTicket.status == status.value, tickets.in_lines(tx))
        .order_by(QueueTicket.id).with_for_update(of=QueueTicket)))


def _gather(tx: Tx, lead: QueueTicket, room_id: int, shift_id: int, actor: Actor,
            pool_ids: list[int] | None = None) -> int:
    """The patient's other exams still in the pool that this room serves join the visit placed here (one
    number, one room), also beyond the cap: they are the same patient at the same door. `pool_ids`: those
    already known (none: nothing to read again)."""
    if pool_ids is not None and not pool_ids:
        return 0
    exam = _exam(tx, lead)
    q = select(QueueTicket).join(Exam, Exam.id == QueueTicket.exam_id).where(
        Exam.patient_id == exam.patient_id, QueueTicket.id != lead.id, QueueTicket.room_id.is_(None),
        QueueTicket.status == WAITING, tickets.in_lines(tx))
    if pool_ids is not None:
        q = q.where(QueueTicket.id.in_(pool_ids))
    rows = list(tx.session.scalars(q.order_by(QueueTicket.id).with_for_update(of=QueueTicket)))
    if not rows:
        return 0
    served = set(ds.session_queue_ids(tx, shift_id, room_id))
    n = 0
    for t in rows:
        if t.queue_id not in served:
            continue
        other = _put(tx, t, room_id)
        _join(t, lead)
        tickets.record(tx, other, t, TimelineKind.TICKET_TRIAGED, actor, mode="auto", reason="same_patient",
                       chosen_room_id=room_id, candidates=[])
        n += 1
    return n


def _auto(tx: Tx, ticket: QueueTicket, actor: Actor, classes: list[str] | None = None,
          rules: PriorityRules | None = None) -> Choice:
    """Choose a room for a waiting, unplaced ticket under the candidate rooms' locks, or leave it in the pool.

    One visit per patient (item 5): when a room that serves this queue already holds the patient's other
    exam, the ticket joins it there. A priority patient passes the cap when the setting allows (item 7).
    """
    placed_before = ticket.first_room_id is not None  # a new ticket has its own number: nothing to restore
    ds.lock_queue_rooms(tx, ticket.queue_id)
    sessions, loads = ds.serving_loads(tx, ticket.queue_id)  # read under the locks: they hold until the commit
    exam = _exam(tx, ticket)
    mine, pooled = _patient_rooms(tx, exam, ticket)
    same = [r for r in loads if r.room_id in mine]
    if same:
        choice = Choice(same[0].room_id, "same_patient", tuple(loads))
    else:
        choice = choose_room(loads)
        if choice.reason == "all_full":  # only then do the priority classes matter for the cap
            rules = rules or priority_rules(tx)
            if may_pass_cap(classes if classes is not None else classes_of(tx, exam, rules), setting=rules.pass_cap):
                choice = choose_room(loads, over_cap=True)
    exam = _put(tx, ticket, choice.room_id)
    if same:
        _join(ticket, mine[same[0].room_id])
    elif placed_before and ticket.code != (code := own_code(tx, ticket)):
        ticket.code = code  # left the visit it had joined (its room closed): its own number again
    kind = TimelineKind.TICKET_TRIAGED if choice.room_id is not None else TimelineKind.TICKET_POOLED
    tickets.record(tx, exam, ticket, kind, actor, mode="auto", **choice.explain())
    if choice.room_id is not None:
        _gather(tx, ticket, choice.room_id, next(s.shift_id for s in sessions if s.room_id == choice.room_id),
                actor, pooled)
    logger.info("triage exam=%s ticket=%s room=%s reason=%s", exam.id, ticket.id, choice.room_id, choice.reason)
    return choice


def _raise_priority(tx: Tx, ticket: QueueTicket, classes: list[str]) -> None:
    """Priority classes go first in the line: at least urgent (stat stays stat)."""
    if ticket.priority == Priority.ROUTINE and classes:
        ticket.priority = Priority.URGENT.value


def place_ticket(tx: Tx, ticket: QueueTicket, actor: Actor) -> None:
    """Called in the check-in transaction right after a ticket is created or re-queued."""
    if ticket.status != WAITING or not ds.dispatched_queue_ids(tx, [ticket.queue_id]):
        return
    rules = priority_rules(tx)
    classes = classes_of(tx, _exam(tx, ticket), rules)
    _raise_priority(tx, ticket, classes)
    if ticket.room_id is not None:
        # A missed patient checking in again goes back to the room that last called them, even beyond its
        # maximum (US-11): they were that room's patient already. Only a closed room sends them to triage.
        if ds.open_sessions(tx, room_ids=[ticket.room_id]):
            tickets.record(tx, _exam(tx, ticket), ticket, TimelineKind.TICKET_TRIAGED, actor, mode="requeue",
                           reason="first_room", chosen_room_id=ticket.room_id, candidates=[])
            return
        _put(tx, ticket, None)
    _auto(tx, ticket, actor, classes, rules)


def patient_busy_elsewhere(tx: Tx, ticket: QueueTicket, room_id: int) -> bool:
    """True when the ticket's patient is called, or being examined, in another room (never call them twice)."""
    exam = _exam(tx, ticket)
    others = tx.session.execute(select(QueueTicket.room_id, QueueTicket.status, Exam.status)
                                .join(Exam, Exam.id == QueueTicket.exam_id).where(
        Exam.patient_id == exam.patient_id, QueueTicket.id != ticket.id, tickets.in_lines(tx)))
    if any(r != room_id and (st == TicketStatus.CALLED.value or es == ExamStatus.IN_PROGRESS.value)
           for r, st, es in others):
        return True
    # An exam started without a ticket (an inpatient or emergency scan begun from the worklist) is being
    # examined too; one left in progress since before the current lines does not block her for ever.
    since = datetime.combine(line_start(tickets.today(tx)), time(0), tzinfo=tx.tz)
    return tx.session.scalar(select(Exam.id).where(
        Exam.patient_id == exam.patient_id, Exam.id != exam.id, Exam.status == ExamStatus.IN_PROGRESS.value,
        Exam.updated_at >= since, or_(Exam.room_id.is_(None), Exam.room_id != room_id)).limit(1)) is not None


def _pool(tx: Tx, queue_ids: list[int]) -> list[int]:
    """Today's unplaced waiting tickets of these queues, in calling order (ids)."""
    rows = tx.session.execute(select(QueueTicket.id, QueueTicket.priority, QueueTicket.sort_at,
                                     QueueTicket.line_at, QueueTicket.checked_in_at).where(
        QueueTicket.room_id.is_(None), QueueTicket.status == WAITING, QueueTicket.queue_id.in_(queue_ids),
        tickets.in_lines(tx)))
    return [f.id for f in in_order([TicketFacts(id=r[0], priority=r[1], sort_at=r[2], line_at=r[3] or r[4])
                                    for r in rows])]


def _pull_locked(tx: Tx, room_id: int, actor: Actor) -> int:
    """Fill the room (already locked) from the pool of its shift's queues up to its capacity."""
    sessions = ds.open_sessions(tx, room_ids=[room_id])
    if not sessions:
        return 0
    s = sessions[0]
    load, pulled = ds.loads(tx, [room_id])[room_id], 0
    for ticket_id in _pool(tx, ds.session_queue_ids(tx, s.shift_id, room_id)) if load < s.capacity else []:
        ticket = tx.session.scalars(select(QueueTicket).where(
            QueueTicket.id == ticket_id, QueueTicket.room_id.is_(None), QueueTicket.status == WAITING)
            .with_for_update(of=QueueTicket)).first()
        if ticket is None:  # taken by another room meanwhile
            continue
        exam = _put(tx, ticket, room_id)
        tickets.record(tx, exam, ticket, TimelineKind.TICKET_TRIAGED, actor, mode="pull", reason="room_freed",
                       chosen_room_id=room_id, candidates=[{"room_id": room_id, "code": s.room_code,
                                                            "load": load, "capacity": s.capacity}])
        joined = _gather(tx, ticket, room_id, s.shift_id, actor)
        load, pulled = load + 1 + joined, pulled + 1 + joined
        if load >= s.capacity:
            break
    return pulled


def room_freed(tx: Tx, room_id: int, actor: Actor) -> None:
    """Called in the transaction where a room finishes an exam: pull the next pool patients in order."""
    if not ds.open_sessions(tx, room_ids=[room_id]):
        return
    ds.lock_rooms(tx, [room_id])
    _pull_locked(tx, room_id, actor)


def session_opened(tx: Tx, room_id: int, actor: Actor) -> int:
    """A shift session opened in the room (already locked): pull waiting patients from its queues' pools."""
    return _pull_locked(tx, room_id, actor)


def session_closed(tx: Tx, room_id: int, actor: Actor, *, reason: str = "session_closed") -> int:
    """The room's session ended (or paused) with no successor taking patients: its waiting patients go back
    to triage (called ones stay)."""
    if ds.open_sessions(tx, room_ids=[room_id]):
        return 0
    rows = list(tx.session.scalars(select(QueueTicket).where(
        QueueTicket.room_id == room_id, QueueTicket.status == WAITING, tickets.in_lines(tx))
        .with_for_update(of=QueueTicket)))
    by_id = {t.id: t for t in rows}
    for f in in_order([tickets.facts(t) for t in rows]):
        ticket = by_id[f.id]
        exam = _put(tx, ticket, None)
        tickets.record(tx, exam, ticket, TimelineKind.TICKET_RELEASED, actor, from_room_id=room_id, reason=reason)
        _auto(tx, ticket, actor)
    return len(rows)


def assign(svc: Services, ticket_id: int, room_id: int | None, *, by: Actor) -> dict[str, Any]:
    """Manual triage (US-15): put a waiting patient in a room, also beyond its maximum, or back in the pool."""
    by.require(Perm.TRIAGE)
    with transaction(svc) as tx:
        ticket = tickets.load_ticket(tx, ticket_id)
        if ticket.status != WAITING:
            raise Conflict("只能分配候检中的患者", code="not_waiting")
        if not ds.dispatched_queue_ids(tx, [ticket.queue_id]):
            raise Conflict("该队列不在超声分诊范围内", code="not_dispatched")
        from_room = ticket.room_id
        if from_room == room_id:
            raise Conflict("患者已在该诊室", code="same_room")
        ds.lock_rooms(tx, [r for r in (from_room, room_id) if r is not None])
        info: dict[str, Any] = {}
        served: set[int] = set()
        if room_id is not None:
            sessions = ds.open_sessions(tx, queue_id=ticket.queue_id, room_ids=[room_id])
            if not sessions:
                raise Conflict("该诊室当前没有接诊此队列的班次", code="room_not_serving")
            served = set(ds.session_queue_ids(tx, sessions[0].shift_id, room_id))
            load = ds.loads(tx, [room_id])[room_id]
            info = {"load": load, "capacity": sessions[0].capacity, "over_capacity": load >= sessions[0].capacity}
        # The rest of the patient's visit (item 5) moves with her where the target serves it; a visit split in
        # two gives each part its own number again.
        visit = companions(tx, ticket, TicketStatus.WAITING, from_room) if from_room is not None else []
        stay = [t for t in visit if room_id is not None and t.queue_id not in served]
        go = [t for t in visit if t not in stay]
        if stay:
            for group in ([ticket, *go], stay):
                for t in group:
                    t.code = own_code(tx, group[0])
        exam = _put(tx, ticket, room_id)
        kind = TimelineKind.TICKET_TRIAGED if room_id else TimelineKind.TICKET_RELEASED
        tickets.record(tx, exam, ticket, kind, by, mode="manual", chosen_room_id=room_id, from_room_id=from_room,
                       actor_name=by.name, **info)
        for t in go:
            tickets.record(tx, _put(tx, t, room_id), t, kind, by, mode="manual", chosen_room_id=room_id,
                           from_room_id=from_room, actor_name=by.name, reason="same_patient")
        if from_room is not None:
            _pull_locked(tx, from_room, by)  # the room it left has a free place again
        return tickets.ticket_dict(tx, ticket)


def pull_all(svc: Services, *, by: Actor) -> int:
    """Fill every open room from the pools (the periodic safety net for races with a session opening)."""
    with transaction(svc) as tx:
        rooms = [s.room_id for s in ds.open_sessions(tx)]
        ds.lock_rooms(tx, rooms)
        return sum(_pull_locked(tx, r, by) for r in rooms)
