"""The fifteen cockpit figures against a hand-computed fixture, and rollups: incremental == rebuilt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.domain.errors import Forbidden, InvalidInput
from backend.services.base import transaction
from backend.services.cockpit import board as cockpit
from backend.services.cockpit import drill as cockpit_drill
from backend.services.cockpit import rollups as cockpit_rollups
from tests.cockpit_builders import critical, event, make_exam, walk

SH = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 27, 9, 0, tzinfo=SH)  # = FIXED_NOW


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def performed(svc: Any, clock: Any, exam_id: int, day: datetime, *, approve: datetime | None = None) -> None:
    """Register, check in, start and complete an exam on `day`, then approve its report at `approve`."""
    walk(svc, clock, exam_id, [("registered", day), ("checked_in", day + timedelta(minutes=5)),
                               ("started", day + timedelta(minutes=20)), ("completed", day + timedelta(minutes=30))])
    if approve is not None:
        event(svc, clock, exam_id, "report_approved", approve)


def completed(svc: Any, clock: Any, modality: str, category: str, approved: datetime, **kw: Any) -> int:
    exam_id = make_exam(svc, clock, approved - timedelta(hours=2), modality, category, **kw)
    performed(svc, clock, exam_id, approved - timedelta(hours=1, minutes=30), approve=approved)
    return exam_id


@pytest.fixture
def hospital(svc: Any, clock: Any) -> dict[str, int]:
    """The hand-computed month: see the expected numbers in test_figures_match_hand_computed."""
    ids = {}
    completed(svc, clock, "CT", "routine", sh(2026, 11, 2, 10, 0))
    # 1 Nov 07:00 Shanghai is still 31 Oct in UTC: counts in November.
    ids["ct_sub"] = completed(svc, clock, "CT", "subspecialty", sh(2026, 11, 1, 7, 0))
    completed(svc, clock, "CT", "routine", sh(2026, 10, 31, 23, 59))  # October
    completed(svc, clock, "CT", "gcp", sh(2026, 11, 27, 8, 59))
    # Amended report: approved 5 Nov, amended and approved again 7 Nov: one completion.
    amended = completed(svc, clock, "CT", "routine", sh(2026, 11, 5, 10, 0))
    walk(svc, clock, amended, [("report_amended", sh(2026, 11, 6, 9, 0)), ("report_approved", sh(2026, 11, 7, 9, 0))])
    # Approved in October, amended and approved again in November: stays in October.
    old = completed(svc, clock, "CT", "routine", sh(2026, 10, 20, 10, 0))
    walk(svc, clock, old, [("report_amended", sh(2026, 11, 3, 9, 0)), ("report_approved", sh(2026, 11, 3, 10, 0))])
    completed(svc, clock, "CT", "routine", sh(2025, 11, 10, 10, 0))  # last year
    completed(svc, clock, "DX", "routine", sh(2026, 11, 3, 10, 0))
    completed(svc, clock, "DX", "routine", sh(2026, 11, 4, 10, 0))
    completed(svc, clock, "DX", "routine", sh(2025, 11, 4, 10, 0))
    # Cancelled subspecialty MR booked for today: no appointment, no completion; still an order.
    cancelled = make_exam(svc, clock, sh(2026, 11, 25, 10, 0), "MR", "subspecialty",
                          scheduled_at=sh(2026, 11, 27, 10, 0))
    walk(svc, clock, cancelled, [("scheduled", sh(2026, 11, 25, 10, 0)), ("cancelled", sh(2026, 11, 26, 10, 0))])
    booked = make_exam(svc, clock, sh(2026, 11, 25, 11, 0), "CT", "subspecialty",
                       scheduled_at=sh(2026, 11, 27, 14, 0))
    event(svc, clock, booked, "scheduled", sh(2026, 11, 25, 11, 0))
    # Critical values: notified at exactly 10 min, at 11 min, never; last year one in time.
    critical(svc, ids["ct_sub"], sh(2026, 11, 1, 8, 0), sh(2026, 11, 1, 8, 10))
    critical(svc, ids["ct_sub"], sh(2026, 11, 2, 8, 0), sh(2026, 11, 2, 8, 11))
    critical(svc, ids["ct_sub"], sh(2026, 11, 26, 8, 0), None)
    critical(svc, ids["ct_sub"], sh(2025, 11, 26, 8, 0), sh(2025, 11, 26, 8, 3))
    _waits(svc, clock)
    # Written after the as_of moment: invisible to a computation as of 09:00.
    completed(svc, clock, "CT", "routine", sh(2026, 11, 27, 9, 30))
    clock.set(AS_OF + timedelta(hours=1))
    return ids


def _waits(svc: Any, clock: Any) -> None:
    long_started = make_exam(svc, clock, sh(2026, 11, 27, 6, 50), "DX", "routine", name="李四光")
    walk(svc, clock, long_started, [("registered", sh(2026, 11, 27, 6, 55)), ("checked_in", sh(2026, 11, 27, 7, 0)),
                                    ("started", sh(2026, 11, 27, 8, 45))])  # waited 105 min
    waiting = make_exam(svc, clock, sh(2026, 11, 27, 7, 10), "DX", "routine", name="王五")
    walk(svc, clock, waiting, [("registered", sh(2026, 11, 27, 7, 15)), ("checked_in", sh(2026, 11, 27, 7, 20))])
    short = make_exam(svc, clock, sh(2026, 11, 27, 7, 50), "DX", "routine")
    walk(svc, clock, short, [("registered", sh(2026, 11, 27, 7, 55)), ("checked_in", sh(2026, 11, 27, 8, 0)),
                             ("started", sh(2026, 11, 27, 8, 30))])
    gone = make_exam(svc, clock, sh(2026, 11, 27, 5, 50), "DX", "routine")
    walk(svc, clock, gone, [("registered", sh(2026, 11, 27, 5, 55)), ("checked_in", sh(2026, 11, 27, 6, 0)),
                            ("cancelled", sh(2026, 11, 27, 7, 0))])


def test_figures_match_hand_computed(svc: Any, actors: Any, hospital: dict[str, int]) -> None:
    f = cockpit.figures(svc, by=actors["admin"], as_of=AS_OF)
    assert (f["CP-1"]["value"], f["CP-1"]["last_year"], f["CP-1"]["yoy_text"]) == (4, 1, "+300.0%")
    assert (f["CP-2"]["value"], f["CP-2"]["yoy"], f["CP-2"]["no_base"], f["CP-2"]["yoy_text"]) == (0, None, True, "—")
    assert f["CP-3"]["counts"] == {"routine": 2, "subspecialty": 1, "gcp": 1}
    assert f["CP-3"]["shares"]["routine"] == pytest.approx(0.5)
    assert f["CP-4"]["total"] == 0
    assert f["CP-4"]["shares"]["routine"] is None
    dx, mg, _rf = f["CP-6"]["items"]
    assert (dx["value"], dx["last_year"], dx["yoy_text"]) == (2, 1, "+100.0%")
    assert (mg["value"], mg["yoy_text"], mg["no_base"]) == (0, "—", True)
    assert f["CP-7"]["value"] == 1
    assert f["CP-7"]["by_modality"] == {"CT": 1}
    assert (f["CP-8"]["total"], f["CP-8"]["within"]) == (3, 1)
    assert f["CP-9"]["rate"] == pytest.approx(1 / 3)
    assert f["CP-9"]["text"] == "33.3%"
    assert f["CP-10"]["last_year_rate"] == 1.0
    assert f["CP-10"]["change_pp"] == pytest.approx(-66.67, abs=0.01)
    assert f["CP-11"]["months"][-1] == "2026-11"
    assert f["CP-11"]["this_year"][-1] == 4
    assert f["CP-11"]["this_year"][-2] == 2
    assert f["CP-11"]["last_year"][-1] == 1
    assert f["CP-12"]["this_year"] == [0] * 6
    out = f["CP-13"]
    assert out["days"][-1] == "2026-11-27"
    assert out["series"]["appointment"][-1] == 1
    assert out["series"]["ordered"][-3] == 2  # 25 Nov: both booked exams (one cancelled later) were ordered
    assert out["series"]["report_approved"][-1] == 1  # the 08:59 approval; the 09:30 one is after as_of
    waits = f["CP-15"]["items"]
    assert [(w["patient"], w["waited_min"], w["over_min"], w["still_waiting"]) for w in waits] == [
        ("李四光", 105, 15, False), ("王五", 100, 10, True)]


def test_big_screen_masks_names(svc: Any, actors: Any, hospital: dict[str, int]) -> None:
    f = cockpit.figures(svc, by=actors["admin"], as_of=AS_OF, mask=True)
    assert [w["patient"] for w in f["CP-15"]["items"]] == ["李*光", "王*"]


def test_now_includes_later_approvals(svc: Any, actors: Any, hospital: dict[str, int]) -> None:
    f = cockpit.figures(svc, by=actors["head"])
    assert f["CP-1"]["value"] == 5


def test_empty_month(svc: Any, actors: Any, hospital: dict[str, int]) -> None:
    f = cockpit.figures(svc, by=actors["admin"], as_of=sh(2026, 8, 15, 12, 0))
    assert f["CP-1"]["value"] == 0
    assert f["CP-1"]["yoy_text"] == "—"
    assert f["CP-8"]["total"] == 0
    assert f["CP-9"]["rate"] is None
    assert f["CP-10"]["text"] == "—"
    assert f["CP-15"]["items"] == []
    assert sum(f["CP-13"]["series"]["ordered"]) == 0


def test_as_of_is_admin_only_and_not_in_the_future(svc: Any, actors: Any) -> None:
    with pytest.raises(Forbidden):
        cockpit.figures(svc, by=actors["head"], as_of=AS_OF - timedelta(days=1))
    with pytest.raises(InvalidInput):
        cockpit.figures(svc, by=actors["admin"], as_of=AS_OF + timedelta(days=1))
    with pytest.raises(Forbidden):
        cockpit.figures(svc, by=actors["doctor"])


def test_incremental_rollups_equal_rebuild(svc: Any, hospital: dict[str, int]) -> None:
    with transaction(svc) as tx:
        before = cockpit_rollups.snapshot(tx.session)
        cockpit_rollups.rebuild_all(tx.session, tz=svc.tz)
        after = cockpit_rollups.snapshot(tx.session)
    assert before == after
    assert len(before[0]) > 20


def test_drill_down_lists_the_exams(svc: Any, actors: Any, hospital: dict[str, int]) -> None:
    d = cockpit_drill.drill(svc, "CP-3", key="subspecialty", by=actors["admin"], as_of=AS_OF)
    assert [e["exam_id"] for e in d["exams"]] == [hospital["ct_sub"]]
    assert cockpit_drill.drill(svc, "CP-1", by=actors["head"])["count"] == 5
    assert cockpit_drill.drill(svc, "CP-15", by=actors["admin"], as_of=AS_OF)["count"] == 2
    assert cockpit_drill.drill(svc, "CP-13", key="ordered:2026-11-25", by=actors["head"])["count"] == 2
    with pytest.raises(InvalidInput):
        cockpit_drill.drill(svc, "CP-13", key="nonsense", by=actors["head"])
    with pytest.raises(Forbidden):
        cockpit_drill.drill(svc, "CP-1", by=actors["doctor"])


def test_export_csv_and_excel(svc: Any, actors: Any, hospital: dict[str, int]) -> None:
    import io

    from openpyxl import load_workbook

    data, name = cockpit_drill.export(svc, "CP-13", "csv", by=actors["head"])
    text = data.decode("utf-8-sig")
    assert name == "cockpit-CP-13.csv"
    assert "日期,开单,预约,检查,报告" in text
    data, _ = cockpit_drill.export(svc, "CP-3", "xlsx", by=actors["head"])
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    assert [c.value for c in ws[2]] == ["类别", "完成量", "占比"]
    for fig in cockpit_drill.FIGURES:
        assert cockpit_drill.export(svc, fig, "csv", by=actors["head"])[0]


def test_an_undone_start_counts_only_when_the_exam_starts_again(svc: Any, clock: Any) -> None:
    """A start withdrawn with its reconstruction link (undo_start, LN-5) was no start: the exam is counted as
    started on the day it starts again, or not at all; the set-based rebuild agrees with the incremental path."""
    undone = make_exam(svc, clock, sh(2026, 11, 20, 8, 0))
    walk(svc, clock, undone, [("registered", sh(2026, 11, 20, 8, 30)), ("started", sh(2026, 11, 20, 9, 0)),
                              ("start_undone", sh(2026, 11, 20, 9, 5))])
    again = make_exam(svc, clock, sh(2026, 11, 20, 8, 0))
    walk(svc, clock, again, [("registered", sh(2026, 11, 20, 8, 30)), ("started", sh(2026, 11, 20, 9, 0)),
                             ("start_undone", sh(2026, 11, 20, 9, 5)),
                             ("started", sh(2026, 11, 21, 10, 0))])
    with transaction(svc) as tx:
        marks, daily = cockpit_rollups.snapshot(tx.session)
        started = {m[0]: m[2] for m in marks if m[1] == "started"}
        assert undone not in started
        assert started[again].isoformat() == "2026-11-21"
        assert not [d for d in daily if d[1] == "started" and d[0].isoformat() == "2026-11-20"]
        cockpit_rollups.rebuild_all(tx.session, tz=svc.tz)
        assert cockpit_rollups.snapshot(tx.session) == (marks, daily)
