"""Ultrasound auto-triage: a decision's latency with 200 waiting patients over 12 rooms (with issue 15's rules:
rooms serving the queue, one visit per patient, priority classes), the triage board's read after a check-in,
and the sustained rate of check-ins that auto-triage keeps up with (threads checking in at once). One JSON
line per figure.
    .venv/bin/python bench/bench_triage.py [--database-url URL] [--decisions 300] [--checkins 600] [--threads 8]
"""

from __future__ import annotations

import argparse
import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import default_url, emit, env_url, normalize, percentile

ITEMS = ["US-BREAST", "US-THYROID", "US-VASC", "US-OB", "US-ABD"]
_seq = itertools.count(1)


def _prepare(url: str, rooms: int) -> tuple[Any, dict[str, Any]]:
    """Fresh schema and reference data; 12 ultrasound rooms each working one all-day shift of every US queue."""
    from sqlalchemy import select

    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.db.models import Campus, Department, Queue, QueueRoom, Room
    from backend.seed.reference import seed_reference
    from backend.services import auth
    from backend.services.admin import org as admin_org
    from backend.services.base import transaction
    from backend.services.patient_flow import shift_sessions, shifts

    upgrade(url)
    seed_reference(Settings(database_url=url), seed=1)
    svc = build_services(Settings(database_url=url))
    admin = auth.login(svc, "admin", "admin123456")
    tag = uuid.uuid4().hex[:6]
    with transaction(svc, readonly=True) as tx:
        main = tx.session.scalars(select(Campus.id).where(Campus.code == "MAIN")).one()
        usd = tx.session.scalars(select(Department.id).where(Department.code == "USD")).one()
        qids = list(tx.session.scalars(select(Queue.id).where(Queue.code.in_(ITEMS))))
        have = list(tx.session.scalars(select(Room.id).where(Room.modality_code == "US", Room.campus_id == main)))
    room_ids = have + [admin_org.create_room(svc, code=f"B{tag}{i}", by=admin, name=f"压测超声{i}", campus_id=main,
                                             modality="US")["id"] for i in range(rooms - len(have))]
    with transaction(svc) as tx:
        for q in qids:
            served = set(tx.session.scalars(select(QueueRoom.room_id).where(QueueRoom.queue_id == q)))
            tx.session.add_all(QueueRoom(queue_id=q, room_id=r) for r in room_ids if r not in served)
    group = shifts.create_group(svc, by=admin, name=f"压测{tag}")
    shift = shifts.create_shift(svc, by=admin, name="压测全科班", group_id=group["id"], campus_id=main,
                                slot_type="all_day", max_auto=500, typist_weight=0.5, queue_ids=qids)
    for i, rid in enumerate(room_ids):
        auth.create_user(svc, username=f"b{tag}{i}", password="bench1234567", display_name=f"压测医师{i}",
                         roles=["radiologist", "technologist"], department_id=usd, by=admin)
        doc = auth.login(svc, f"b{tag}{i}", "bench1234567")
        shift_sessions.open_session(svc, by=doc, shift_id=shift["id"], room_id=rid, with_typist=i % 2 == 0)
    return svc, {u: auth.login(svc, u, f"{u}123456") for u in ("clerk", "nurse")}


def _exams(svc: Any, clerk: Any, n: int, patient_class: str = "outpatient") -> list[int]:
    from backend.domain.registration import OrderData, PatientData
    from backend.services.orders import registration

    out = []
    for i in range(n):
        p = PatientData(mrn=f"BT{uuid.uuid4().hex[:10]}", name="压测患者", sex="F")
        order = OrderData(patient=p, item_code=ITEMS[i % len(ITEMS)], patient_class=patient_class)
        out.append(registration.register(svc, order, by=clerk)["exam_id"])
    return out


def _decision_ms(svc: Any, exam_id: int) -> float:
    """Time place_ticket for one new ticket against the current loads, then roll back (the waiting count stays)."""
    from backend.db.models import Exam, ExamItem, QueueTicket
    from backend.domain.actor import SYSTEM
    from backend.services.base import Tx
    from backend.services.patient_flow import triage

    session = svc.session_factory()
    try:
        tx = Tx(session=session, now=svc.clock(), tz=svc.tz)
        exam = session.get(Exam, exam_id)
        item = session.get(ExamItem, exam.exam_item_id)
        n = 900000 + next(_seq)
        ticket = QueueTicket(exam_id=exam.id, queue_id=item.queue_id, day=tx.now.astimezone(tx.tz).date(), number=n,
                             code=f"B{n}", status="waiting", priority="routine", checked_in_at=tx.now, sort_at=tx.now,
                             line_at=tx.now, call_count=0)
        session.add(ticket)
        session.flush()
        t0 = time.perf_counter()
        triage.place_ticket(tx, ticket, SYSTEM)
        session.flush()
        return (time.perf_counter() - t0) * 1000
    finally:
        session.rollback()
        session.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default=env_url())
    ap.add_argument("--decisions", type=int, default=300)
    ap.add_argument("--checkins", type=int, default=600)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rooms", type=int, default=12)
    a = ap.parse_args()
    url = normalize(a.database_url) if a.database_url else default_url(f"triage-{uuid.uuid4().hex[:6]}.db")
    svc, actors = _prepare(url, a.rooms)
    from backend.services.patient_flow import checkin

    for exam_id in _exams(svc, actors["clerk"], 200):  # 200 patients already waiting in the rooms
        checkin.check_in_exam(svc, exam_id, None, by=actors["nurse"])
    # Some waiting patients carry priority classes (急诊, 危重): the decision reads them, and may pass the cap.
    for exam_id in _exams(svc, actors["clerk"], 20, patient_class="emergency"):
        checkin.check_in_exam(svc, exam_id, None, by=actors["nurse"])
    probes = _exams(svc, actors["clerk"], a.decisions)
    times = [_decision_ms(svc, e) for e in probes]
    emit("triage_decision", db=url.split(":", 1)[0], rooms=a.rooms, waiting=200, n=len(times),
         p50_ms=round(percentile(times, 50), 2), p95_ms=round(percentile(times, 95), 2),
         p99_ms=round(percentile(times, 99), 2), max_ms=round(max(times), 2))
    # What the triage board re-reads after a check-in event (the server half of its redraw).
    from backend.services.patient_flow import triage_board as board_svc

    redraw = []
    for exam_id in _exams(svc, actors["clerk"], 20):
        checkin.check_in_exam(svc, exam_id, None, by=actors["nurse"])
        t0 = time.perf_counter()
        board_svc.board(svc, by=actors["nurse"])
        redraw.append((time.perf_counter() - t0) * 1000)
    emit("triage_board_read_after_checkin", db=url.split(":", 1)[0], rooms=a.rooms, n=len(redraw),
         p50_ms=round(percentile(redraw, 50), 1), p95_ms=round(percentile(redraw, 95), 1),
         max_ms=round(max(redraw), 1))
    todo = _exams(svc, actors["clerk"], a.checkins)
    chunks = [todo[i::a.threads] for i in range(a.threads)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.threads) as pool:
        list(pool.map(lambda c: [checkin.check_in_exam(svc, e, None, by=actors["nurse"]) for e in c], chunks))
    elapsed = time.perf_counter() - t0
    from backend.services.patient_flow import triage_board

    board = triage_board.board(svc, by=actors["nurse"])
    emit("triage_sustained_checkins", db=url.split(":", 1)[0], threads=a.threads, checkins=a.checkins,
         seconds=round(elapsed, 2), per_second=round(a.checkins / elapsed, 1), left_in_pool=board["totals"]["pool"],
         waiting=board["totals"]["waiting"])
    if url.startswith("sqlite"):
        for f in Path(url.split("///", 1)[1]).parent.glob(Path(url.split("///", 1)[1]).name + "*"):
            f.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
