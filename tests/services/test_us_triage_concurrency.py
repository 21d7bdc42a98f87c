"""500 ultrasound check-ins at once across 8 rooms (real threads, a committed database): no room beyond
capacity through auto-triage, no exam triaged twice, loads follow the capacity weights within one patient."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import ExamEvent, Queue, QueueRoom, QueueTicket
from backend.services import auth
from backend.services.base import transaction
from backend.services.patient_flow import checkin, shift_sessions, shifts, triage_board
from tests.conftest import FIXED_NOW, PASSWORDS, FakeClock
from tests.us_helpers import room_id, sonographer, us_exam

ROOMS = [f"US{i}" for i in range(1, 9)]
ITEMS = ["US-BREAST", "US-THYROID", "US-VASC", "US-OB", "US-ABD"]


def _setup(svc, admin, max_auto):
    with transaction(svc, readonly=True) as tx:
        qids = list(tx.session.scalars(select(Queue.id).where(Queue.code.in_(ITEMS))))
        campus = tx.session.scalars(select(Queue.campus_id).where(Queue.code == "US-ABD")).one()
    # Every room set up for every ultrasound queue: a room only takes queues both it and its shift serve
    # (issue 15 item 6), and this test is about capacity under concurrency, not about room set-up.
    rooms = [room_id(svc, c) for c in ROOMS]
    with transaction(svc) as tx:
        for q in qids:
            served = set(tx.session.scalars(select(QueueRoom.room_id).where(QueueRoom.queue_id == q)))
            tx.session.add_all(QueueRoom(queue_id=q, room_id=r) for r in rooms if r not in served)
    group = shifts.create_group(svc, by=admin, name="压力测试班组")
    shift = shifts.create_shift(svc, by=admin, name="全科班", group_id=group["id"], campus_id=campus,
                                slot_type="all_day", max_auto=max_auto, typist_weight=0.6, queue_ids=qids)
    caps = {}
    for i, code in enumerate(ROOMS):
        s = shift_sessions.open_session(svc, by=sonographer(svc, admin), shift_id=shift["id"],
                                        room_id=room_id(svc, code), with_typist=i % 2 == 0)
        caps[code] = s["capacity"]
    return caps


def _check_in_all(svc, nurse, chunk: list[int], barrier: threading.Barrier, errors: list[BaseException]) -> None:
    """One thread's share of the check-ins, started with the others; failures are collected for the test."""
    barrier.wait()
    for exam_id in chunk:
        try:
            assert checkin.check_in_exam(svc, exam_id, None, by=nurse)["ok"]
        except BaseException as exc:  # collected and asserted on in the main thread
            errors.append(exc)


@pytest.mark.parametrize(("max_auto", "patients"), [(50, 500), (10, 150)])
def test_concurrent_check_ins_respect_capacity_and_weights(fresh_db_url, max_auto, patients):
    svc = build_services(Settings(database_url=fresh_db_url), clock=FakeClock(FIXED_NOW))
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    nurse = auth.login(svc, "nurse", PASSWORDS["nurse"])
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    caps = _setup(svc, admin, max_auto)
    exams = [us_exam(svc, clerk, ITEMS[i % len(ITEMS)])[1]["exam_id"] for i in range(patients)]
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda chunk: _check_in_all(svc, nurse, chunk, barrier, errors),
                      [exams[i::16] for i in range(16)]))
    assert errors == []
    board = triage_board.board(svc, by=nurse)
    loads = {r["room_code"]: r["load"] for r in board["rooms"] if r["room_code"] in ROOMS}
    assert all(loads[c] <= caps[c] for c in ROOMS), (loads, caps)
    total_cap = sum(caps.values())
    placed = min(patients, total_cap)
    assert sum(loads.values()) == placed
    assert board["totals"]["pool"] == patients - placed
    for c in ROOMS:
        assert abs(loads[c] - placed * caps[c] / total_cap) < 1, (c, loads, caps)
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalar(select(func.count()).select_from(QueueTicket)) == patients
        triaged = Counter(tx.session.scalars(select(ExamEvent.exam_id).where(ExamEvent.kind == "ticket_triaged")))
        assert all(n == 1 for n in triaged.values())
        assert len(triaged) == placed


def test_rooms_paused_and_resumed_during_check_ins_never_deadlock(fresh_db_url):
    """A nurse pauses and resumes rooms while patients check in: the pause sends the room's waiting patients
    back to triage, which locks the rooms serving their queues, as each check-in's triage does. Every room
    lock of a transaction is taken in one ascending order, so no two wait on each other (on PostgreSQL a
    deadlock would abort one of them: an error here); every patient is checked in once."""
    svc = build_services(Settings(database_url=fresh_db_url), clock=FakeClock(FIXED_NOW))
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    nurse = auth.login(svc, "nurse", PASSWORDS["nurse"])
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    _setup(svc, admin, 50)
    exams = [us_exam(svc, clerk, ITEMS[i % len(ITEMS)])[1]["exam_id"] for i in range(240)]
    rooms = sorted(room_id(svc, c) for c in ROOMS)[-3:]  # the highest ids: locked last by a check-in
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []
    done = threading.Event()

    def pause_resume(room: int) -> None:
        barrier.wait()
        for _ in range(40):  # bounded: the check-ins take longer than this on any machine
            if done.is_set():
                return
            try:
                shift_sessions.supervise(svc, room, "pause", by=nurse)
                shift_sessions.supervise(svc, room, "resume", by=nurse)
            except BaseException as exc:
                errors.append(exc)

    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(_check_in_all, svc, nurse, exams[i::8], barrier, errors) for i in range(8)]
        futures += [pool.submit(pause_resume, rooms[i % len(rooms)]) for i in range(2)]
        for f in futures[:8]:
            f.result()
        done.set()
        for f in futures[8:]:
            f.result()
    assert errors == []
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalar(select(func.count()).select_from(QueueTicket)) == len(exams)
