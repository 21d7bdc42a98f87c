"""What the triage desk and the room's calling list show (US-10, US-12..US-14): rooms with doctor, shift,
typist, load against the maximum and queued patients; the unassigned pool; waiting counts per queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.db.models import Exam, ExamEvent, ExamItem, Queue, QueueRoom, QueueTicket, Room
from backend.db.models.ultrasound import ShiftSession
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.dispatch import PRIORITY_CLASS_LABELS, staff_identity
from backend.domain.permissions import Perm
from backend.domain.queue_flow import TICKET_STATUS_LABELS, TicketStatus
from backend.domain.queueing import in_order
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import dispatch_state as ds
from backend.services.patient_flow import shift_sessions, tickets, triage

WAITING = TicketStatus.WAITING.value


def _rows(tx: Tx, rows: list[QueueTicket]) -> list[dict[str, Any]]:
    """Patients in calling order as the staff see them: full name, sex, age, MRN (issue 14 item 9), the
    priority flags (item 7) and how long each has waited (item 10)."""
    by_id = {t.id: t for t in rows}
    ordered = [by_id[f.id] for f in in_order([tickets.facts(t) for t in rows])]
    exams = {e.id: e for e in tx.session.scalars(select(Exam).where(Exam.id.in_([t.exam_id for t in rows])))
             } if rows else {}
    queues = {q.id: q.name for q in tx.session.scalars(select(Queue))}
    items = {int(i): str(c) for i, c in tx.session.execute(select(ExamItem.id, ExamItem.code))}
    rules = triage.priority_rules(tx)
    today = tickets.today(tx)
    out = []
    for t in ordered:
        exam = exams.get(t.exam_id)
        who = staff_identity(name=exam.patient.name, sex=exam.patient.sex, birth=exam.patient.birth_date,
                             mrn=exam.patient.mrn, today=today) if exam else {"name": "", "identity": ""}
        flags = [PRIORITY_CLASS_LABELS[c] for c in triage.classes_of(tx, exam, rules, items.get(exam.exam_item_id))
                 ] if exam else []
        out.append({"ticket_id": t.id, "exam_id": t.exam_id, "code": t.code, **who, "flags": flags,
                    "queue_id": t.queue_id, "queue_name": queues.get(t.queue_id, ""), "priority": t.priority,
                    "room_id": t.room_id, "status": t.status,
                    "waited_min": max(0, int((tx.now - t.checked_in_at).total_seconds() // 60))})
    return out


def _matches(row: dict[str, Any], q: str) -> bool:
    return any(q in str(row.get(k, "")).lower() for k in ("name", "mrn", "code", "queue_name"))


def _today_totals(tx: Tx, room_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per room today: exams done, patients missed, and the average exam time (start to end, minutes)."""
    out: dict[int, dict[str, Any]] = {r: {"finished": 0, "no_show": 0, "avg_exam_min": None} for r in room_ids}
    if not room_ids:
        return out
    today = tickets.today(tx)
    rows = tx.session.execute(select(QueueTicket.room_id, QueueTicket.status, func.count()).where(
        QueueTicket.room_id.in_(room_ids), QueueTicket.day == today,
        QueueTicket.status.in_([TicketStatus.DONE.value, TicketStatus.MISSED.value]))
        .group_by(QueueTicket.room_id, QueueTicket.status))
    for room_id, status, n in rows:
        if room_id is None:
            continue
        out[int(room_id)]["finished" if status == TicketStatus.DONE.value else "no_show"] = int(n)
    spans: dict[int, dict[int, dict[str, Any]]] = {}
    for room_id, exam_id, kind, at in tx.session.execute(
            select(QueueTicket.room_id, ExamEvent.exam_id, ExamEvent.kind, ExamEvent.at)
            .join(ExamEvent, ExamEvent.exam_id == QueueTicket.exam_id).where(
                QueueTicket.room_id.in_(room_ids), QueueTicket.day == today,
                QueueTicket.status == TicketStatus.DONE.value,
                ExamEvent.kind.in_([TimelineKind.STARTED.value, TimelineKind.COMPLETED.value]))):
        spans.setdefault(int(room_id or 0), {}).setdefault(int(exam_id), {})[kind] = at
    for room_id, exams in spans.items():
        mins = [(e[TimelineKind.COMPLETED.value] - e[TimelineKind.STARTED.value]).total_seconds() / 60
                for e in exams.values() if TimelineKind.STARTED.value in e and TimelineKind.COMPLETED.value in e]
        if mins:
            out[room_id]["avg_exam_min"] = round(sum(mins) / len(mins), 1)
    return out


def _room(tx: Tx, room: Room, session: ShiftSession | None, load: int, patients: list[dict[str, Any]],
          totals: dict[str, Any], q: str) -> dict[str, Any]:
    s = shift_sessions.session_dict(tx, session) if session is not None else None
    waiting = patients
    return {"room_id": room.id, "room_code": room.code, "room_name": room.name, "session": s,
            "doctor": s["user_name"] if s else "", "shift": s["shift_name"] if s else "",
            "with_typist": bool(s and s["with_typist"]), "max_auto": s["max_auto"] if s else 0,
            "capacity": s["capacity"] if s else 0, "load": load, "queued": len(waiting),
            "paused": bool(s and s["paused"]), "today": totals,
            "full": bool(s) and load >= (s["capacity"] if s else 0),
            "patients": [p for p in patients if _matches(p, q)] if q else patients}


def board(svc: Services, *, by: Actor, q: str = "") -> dict[str, Any]:
    """Every dispatched room (open or not) with its load, queued patients and today's totals, and the
    unassigned pool; `q` keeps only the patients whose name, MRN, number or queue contains it."""
    by.require(Perm.TRIAGE)
    q = (q or "").strip().lower()
    with transaction(svc, readonly=True) as tx:
        qids = ds.dispatched_queue_ids(tx)
        open_q = select(ShiftSession).where(ShiftSession.ended_at.is_(None))
        sessions = {s.room_id: s for s in tx.session.scalars(open_q)}
        served = select(QueueRoom.room_id).where(QueueRoom.queue_id.in_(qids))
        waiting = list(tx.session.scalars(select(QueueTicket).where(
            tickets.in_lines(tx), QueueTicket.status == WAITING, QueueTicket.queue_id.in_(qids))))
        # A room still holding waiting patients is shown even when closed, so nobody vanishes from the board.
        holding = {t.room_id for t in waiting if t.room_id is not None}
        room_ids = set(sessions) | set(tx.session.scalars(served)) | holding
        rooms = list(tx.session.scalars(select(Room).where(Room.id.in_(room_ids), Room.active.is_(True) | Room.id.in_(
            holding)).order_by(Room.campus_id, Room.code)))
        counts = ds.loads(tx, [r.id for r in rooms])
        totals = _today_totals(tx, [r.id for r in rooms])
        by_room: dict[int | None, list[dict[str, Any]]] = {}
        for row in _rows(tx, waiting):  # one read for every waiting patient, then split by room
            by_room.setdefault(row["room_id"], []).append(row)
        pool = by_room.get(None, [])
        return {"rooms": [_room(tx, r, sessions.get(r.id), counts[r.id], by_room.get(r.id, []), totals[r.id], q)
                          for r in rooms],
                "pool": [p for p in pool if _matches(p, q)] if q else pool,
                "totals": {"waiting": len(waiting), "pool": len(by_room.get(None, [])),
                           "finished": sum(t["finished"] for t in totals.values()),
                           "no_show": sum(t["no_show"] for t in totals.values())}}


def queue_counts(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Patients waiting to be called in each queue of the caller's current shift (US-10)."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        s = tx.session.scalars(select(ShiftSession).where(ShiftSession.user_id == by.id,
                                                          ShiftSession.ended_at.is_(None))).first()
        if s is None:
            return []
        out = []
        for q in tx.session.scalars(select(Queue).where(Queue.id.in_(ds.session_queue_ids(tx, s.shift_id)))
                                    .order_by(Queue.code)):
            base = select(func.count()).select_from(QueueTicket).where(
                QueueTicket.queue_id == q.id, tickets.in_lines(tx), QueueTicket.status == WAITING)
            out.append({"queue_id": q.id, "queue_code": q.code, "queue_name": q.name,
                        "waiting": tx.session.scalar(base) or 0,
                        "pool": tx.session.scalar(base.where(QueueTicket.room_id.is_(None))) or 0,
                        "at_my_room": tx.session.scalar(base.where(QueueTicket.room_id == s.room_id)) or 0})
        return out


def patient_notes(svc: Services, exam_ids: list[int], *, by: Actor) -> dict[int, dict[str, Any]]:
    """For the room page: each patient's priority flags (item 7) and their other open exams today, with
    where each stands (one patient, one room at a time: item 5)."""
    by.require(Perm.EXAM_OPERATE)
    if not exam_ids:
        return {}
    with transaction(svc, readonly=True) as tx:
        exams = {e.id: e for e in tx.session.scalars(select(Exam).where(Exam.id.in_(exam_ids)))}
        rooms = {r.id: r.name for r in tx.session.scalars(select(Room))}
        out: dict[int, dict[str, Any]] = {}
        for exam_id, exam in exams.items():
            others = tx.session.execute(
                select(ExamItem.name, QueueTicket.room_id, QueueTicket.status)
                .join(Exam, Exam.id == QueueTicket.exam_id).join(ExamItem, ExamItem.id == Exam.exam_item_id).where(
                    Exam.patient_id == exam.patient_id, Exam.id != exam_id, tickets.in_lines(tx),
                    QueueTicket.status.in_([TicketStatus.WAITING.value, TicketStatus.CALLED.value,
                                            TicketStatus.MISSED.value])))
            out[exam_id] = {
                "flags": [PRIORITY_CLASS_LABELS[c] for c in triage.classes_of(tx, exam)],
                "others": [f"{name}（{rooms.get(room_id, '待分诊') if room_id else '待分诊'}，"
                           f"{TICKET_STATUS_LABELS[TicketStatus(status)]}）" for name, room_id, status in others]}
        return out
