"""The seeded history: deterministic, consistent with its own timeline, and usable by the services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import CriticalValue, Exam, ExamEvent, ExamItem, QueueTicket, Report, ReportVersion
from backend.db.session import make_engine
from backend.domain.exam_query import ExamFilter
from backend.seed.history import HistoryExists, seed_history
from backend.seed.history_rows import PROCEDURE, REPORT
from backend.services import auth
from backend.services.orders import exam_list, registration
from tests.conftest import FIXED_NOW, PASSWORDS, FakeClock, fresh_database
from tests.helpers import order

KINDS = {"ordered", "scheduled", "registered", "checked_in", "started", "completed", "cancelled", "report_drafted",
         "report_submitted", "report_approved", "report_amended", "critical_raised", "critical_notified",
         "critical_acknowledged"}




@pytest.fixture(scope="module")
def seeded(db_url, tmp_path_factory) -> Iterator[tuple[str, dict]]:
    """One demo-scale history (the default 60 days) seeded at FIXED_NOW, shared by this module's read-only tests."""
    with fresh_database(db_url, tmp_path_factory.mktemp("hist")) as url:
        summary = seed_history(Settings(database_url=url), scale="demo", seed=11, now=FIXED_NOW)
        yield url, summary


@pytest.fixture
def conn(seeded):
    engine = make_engine(seeded[0])
    with engine.connect() as c:
        yield c
    engine.dispose()


def test_same_seed_gives_the_same_history(db_url, tmp_path):
    results = []
    for _ in range(2):
        with fresh_database(db_url, tmp_path) as url:
            summary = seed_history(Settings(database_url=url), scale="demo", seed=5, days=4, now=FIXED_NOW)
            engine = make_engine(url)
            with engine.connect() as c:
                accessions = list(c.scalars(select(Exam.accession).order_by(Exam.id)))
                kinds = list(c.execute(select(ExamEvent.exam_id, ExamEvent.kind).order_by(ExamEvent.id)))
            engine.dispose()
            results.append((summary | {"seconds": 0}, accessions, kinds))
    assert results[0] == results[1]
    assert len(results[0][1]) == results[0][0]["exams"] > 100
    assert len(set(results[0][1])) == len(results[0][1])


def test_every_timeline_starts_with_ordered_and_uses_the_service_kinds(conn):
    rows = conn.execute(select(ExamEvent.exam_id, ExamEvent.kind).order_by(ExamEvent.exam_id, ExamEvent.at,
                                                                           ExamEvent.id)).all()
    first: dict[int, str] = {}
    for exam_id, kind in rows:
        first.setdefault(exam_id, kind)
    exams = conn.scalar(select(func.count()).select_from(Exam))
    assert len(first) == exams
    assert set(first.values()) == {"ordered"}
    assert {k for _, k in rows} == KINDS


def test_status_fields_match_the_last_events(conn):
    status: dict[int, str] = {}
    report: dict[int, str] = {}
    for exam_id, kind in conn.execute(select(ExamEvent.exam_id, ExamEvent.kind).order_by(ExamEvent.at, ExamEvent.id)):
        if kind in PROCEDURE:
            status[exam_id] = PROCEDURE[kind]
        if kind in REPORT:
            report[exam_id] = REPORT[kind]
    mismatched = [(e.id, e.status, e.report_status) for e in conn.execute(select(Exam.id, Exam.status,
                                                                                 Exam.report_status))
                  if status[e.id] != e.status or report.get(e.id, "none") != e.report_status]
    assert mismatched == []
    reports = dict(conn.execute(select(Report.exam_id, Report.status)).all())
    assert all(report[exam_id] == s for exam_id, s in reports.items())
    assert set(reports) == set(report)


def test_no_event_after_now_and_no_exam_from_the_future(conn):
    assert conn.scalar(select(func.max(ExamEvent.at))) <= FIXED_NOW
    assert conn.scalar(select(func.max(Exam.created_at))) <= FIXED_NOW


def test_the_approver_is_never_the_author(conn):
    approved = conn.execute(select(Report.author_id, Report.approver_id).where(Report.approver_id.is_not(None))).all()
    assert approved
    assert all(a != b for a, b in approved)
    versions = conn.execute(select(ReportVersion.author_id, ReportVersion.approved_by)
                            .where(ReportVersion.approved_by.is_not(None))).all()
    assert all(a != b for a, b in versions)
    assert conn.scalar(select(func.count()).select_from(ReportVersion).where(ReportVersion.number == 2)) > 0


def test_critical_values_agree_with_their_events(conn, seeded):
    rows = conn.execute(select(CriticalValue.id, CriticalValue.exam_id, CriticalValue.raised_at,
                               CriticalValue.notified_at, CriticalValue.status)).all()
    assert len(rows) == seeded[1]["critical_values"] > 0
    events = {(e.exam_id, e.kind): e.at for e in conn.execute(
        select(ExamEvent.exam_id, ExamEvent.kind, ExamEvent.at).where(ExamEvent.kind.like("critical_%")))}
    for _cid, exam_id, raised, notified, status in rows:
        assert events[(exam_id, "critical_raised")] == raised
        assert events.get((exam_id, "critical_notified")) == notified
        assert (status == "acknowledged") == ((exam_id, "critical_acknowledged") in events)
    notified = [(r.notified_at - r.raised_at) for r in rows if r.notified_at]
    within = sum(d <= timedelta(minutes=10) for d in notified)
    assert within >= len(notified) / 2


def test_today_shows_every_state_with_waiting_tickets(conn):
    day_start = FIXED_NOW - timedelta(hours=9)  # midnight in Shanghai
    today = conn.execute(select(Exam.status, Exam.report_status).where(Exam.created_at >= day_start)).all()
    assert {"registered", "arrived", "in_progress", "completed"} <= {s for s, _ in today}
    assert {"draft", "submitted", "approved"} <= {r for _, r in today}
    waiting = conn.execute(select(QueueTicket.exam_id).where(QueueTicket.status == "waiting")).all()
    arrived = conn.execute(select(Exam.id).where(Exam.status == "arrived")).all()
    assert {w for (w,) in waiting} == {a for (a,) in arrived}
    long_waits = conn.scalar(select(func.count()).select_from(QueueTicket).where(
        QueueTicket.status == "waiting", QueueTicket.checked_in_at < FIXED_NOW - timedelta(minutes=90)))
    assert long_waits >= 1


def test_history_is_refused_a_second_time(seeded):
    with pytest.raises(HistoryExists, match="already has"):
        seed_history(Settings(database_url=seeded[0]), scale="demo", seed=11, days=2, now=FIXED_NOW)


def test_services_read_and_register_on_top_of_the_history(seeded):
    svc = build_services(Settings(database_url=seeded[0]), clock=FakeClock(FIXED_NOW))
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    today = FIXED_NOW.date()
    page = exam_list.search(svc, ExamFilter(date_from=today, date_to=today), by=clerk, limit=20)
    assert len(page["items"]) == 20
    assert page["next_cursor"]
    seeded_max = max(i["accession"] for i in page["items"])
    new = registration.register(svc, order("DR-CHEST"), by=clerk)
    assert new["accession"] > seeded_max
    assert new["accession"].startswith(f"RA{today:%Y%m%d}")


def test_check_in_continues_the_seeded_ticket_numbers(seeded):
    from backend.services.patient_flow import checkin

    svc = build_services(Settings(database_url=seeded[0]), clock=FakeClock(FIXED_NOW))
    nurse = auth.login(svc, "nurse", PASSWORDS["nurse"])
    engine = make_engine(seeded[0])
    with engine.connect() as c:
        exam_id = c.scalar(select(Exam.id).join(ExamItem, ExamItem.id == Exam.exam_item_id).where(
            Exam.status == "registered", Exam.created_at >= FIXED_NOW - timedelta(hours=9),
            Exam.slot_id.is_(None), ExamItem.needs_room.is_(True)).order_by(Exam.id).limit(1))
    engine.dispose()
    assert exam_id is not None
    result = checkin.check_in_exam(svc, exam_id, None, by=nurse)
    assert result["ok"], result
    engine = make_engine(seeded[0])
    with engine.connect() as c:
        queue_id = c.scalar(select(QueueTicket.queue_id).where(QueueTicket.exam_id == exam_id))
        numbers = list(c.scalars(select(QueueTicket.number).where(QueueTicket.queue_id == queue_id)))
    engine.dispose()
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert len(numbers) > 1


def test_demo_history_fills_every_year_over_year_figure_of_the_cockpit(seeded):
    """Issue 14.10: after the default demo seed every cockpit figure has its last-year value and line."""
    from backend.services.cockpit import board as cockpit

    svc = build_services(Settings(database_url=seeded[0]), clock=FakeClock(FIXED_NOW))
    head = auth.login(svc, "head", PASSWORDS["head"])
    f = cockpit.figures(svc, by=head)
    assert f["CP-1"]["last_year"] > 0
    assert f["CP-2"]["last_year"] > 0
    assert all(i["last_year"] > 0 for i in f["CP-6"]["items"]), f["CP-6"]["items"]
    for fig in ("CP-11", "CP-12"):
        assert all(n > 0 for n in f[fig]["last_year"]), (fig, f[fig]["last_year"])
        assert all(n > 0 for n in f[fig]["this_year"]), (fig, f[fig]["this_year"])
    assert f["CP-10"]["last_year_rate"] is not None
