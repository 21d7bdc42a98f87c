"""Issue 17: what would mislead a department head (scope, drill-down counts and paging, pending and
backdated critical values, year labels, midnight waits, the readings switched by settings)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.domain.errors import InvalidInput
from backend.services import settings_store
from backend.services.cockpit import board as cockpit
from backend.services.cockpit import drill as cockpit_drill
from backend.services.reporting import critical_values
from tests.cockpit_builders import critical, event, make_exam, walk

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def approved(svc: Any, clock: Any, modality: str, at: datetime, category: str = "routine") -> int:
    exam_id = make_exam(svc, clock, at - timedelta(hours=3), modality, category)
    walk(svc, clock, exam_id, [("registered", at - timedelta(hours=2)), ("checked_in", at - timedelta(hours=2)),
                               ("started", at - timedelta(hours=1, minutes=50)),
                               ("completed", at - timedelta(hours=1, minutes=40)), ("report_approved", at)])
    return exam_id


def waiting_since(svc: Any, clock: Any, modality: str, checked_in: datetime, name: str) -> int:
    category = "subspecialty" if modality == "US" else "routine"
    exam_id = make_exam(svc, clock, checked_in - timedelta(minutes=10), modality, category, name=name)
    walk(svc, clock, exam_id, [("registered", checked_in - timedelta(minutes=5)), ("checked_in", checked_in)])
    return exam_id


def test_ultrasound_is_its_own_cockpit(svc: Any, clock: Any, actors: Any) -> None:
    at = sh(2026, 11, 27, 12, 0)
    ct = approved(svc, clock, "CT", sh(2026, 11, 27, 9, 0))
    us = make_exam(svc, clock, sh(2026, 11, 27, 8, 0), "US", "subspecialty")
    walk(svc, clock, us, [("registered", sh(2026, 11, 27, 8, 1)), ("checked_in", sh(2026, 11, 27, 8, 2)),
                          ("started", sh(2026, 11, 27, 8, 10))])
    critical(svc, us, sh(2026, 11, 27, 8, 30), sh(2026, 11, 27, 8, 35))
    critical(svc, ct, sh(2026, 11, 27, 9, 30), sh(2026, 11, 27, 9, 35))
    waiting_since(svc, clock, "US", sh(2026, 11, 27, 9, 0), "超声候")
    waiting_since(svc, clock, "DX", sh(2026, 11, 27, 9, 0), "放射候")
    clock.set(at)
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert f["scope"] == "radiology"
    assert "US" not in f["modalities"]
    assert f["CP-8"]["total"] == 1
    assert [w["patient"] for w in f["CP-15"]["items"]] == ["放射候"]
    assert f["CP-13"]["series"]["ordered"][-1] == 2  # the CT and DX orders, not the two ultrasound ones
    d = cockpit_drill.drill(svc, "CP-8", by=actors["admin"], as_of=at)
    assert [r["exam_id"] for r in d["rows"]] == [ct]
    u = cockpit.figures(svc, by=actors["admin"], as_of=at, scope="ultrasound")
    assert u["scope_label"] == "超声科"
    assert u["CP-8"]["total"] == 1
    assert [w["patient"] for w in u["CP-15"]["items"]] == ["超声候"]
    assert u["CP-13"]["series"]["ordered"][-1] == 2
    with pytest.raises(InvalidInput):
        cockpit.figures(svc, by=actors["admin"], scope="nowhere")


def test_drill_gives_true_count_keyset_pages_and_whole_export(svc: Any, clock: Any, actors: Any) -> None:
    ids = [approved(svc, clock, "CT", sh(2026, 11, 20, 9, 0) + timedelta(minutes=i)) for i in range(7)]
    clock.set(sh(2026, 11, 27, 12, 0))
    head = actors["head"]
    seen, after, pages = [], "", 0
    while True:
        page = cockpit_drill.drill(svc, "CP-1", by=head, after=after, limit=3)
        assert page["count"] == 7
        seen += [r["exam_id"] for r in page["rows"]]
        pages += 1
        if page["next"] is None:
            break
        after = page["next"]
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, each exam once
    chunks, name = cockpit_drill.drill_stream(svc, "CP-1", "csv", by=head)
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert name == "cockpit-CP-1-detail.csv"
    assert rows[1][0] == "检查号"
    assert len(rows) == 2 + 7
    with pytest.raises(InvalidInput):
        cockpit_drill.drill(svc, "CP-1", by=head, after="garbage")


def test_pending_critical_values_do_not_dip_the_rate(svc: Any, clock: Any, actors: Any) -> None:
    ct = approved(svc, clock, "CT", sh(2026, 11, 20, 9, 0))
    critical(svc, ct, sh(2026, 11, 20, 10, 0), sh(2026, 11, 20, 10, 4))
    at = sh(2026, 11, 27, 12, 0)
    for minutes in (1, 3, 5, 9):
        critical(svc, ct, at - timedelta(minutes=minutes), None)
    clock.set(at)
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert (f["CP-8"]["total"], f["CP-8"]["within"], f["CP-8"]["pending"], f["CP-8"]["late"]) == (5, 1, 4, 0)
    assert f["CP-9"]["text"] == "100.0%"
    # Eleven minutes later the four are overdue: now they count, as late.
    later = at + timedelta(minutes=11)
    clock.set(later)
    f = cockpit.figures(svc, by=actors["admin"], as_of=later)
    assert (f["CP-8"]["pending"], f["CP-8"]["late"], f["CP-9"]["text"]) == (0, 4, "20.0%")


def test_backdated_notification_needs_reason_is_flagged_and_counted_as_recorded(
        svc: Any, clock: Any, actors: Any) -> None:
    exam = approved(svc, clock, "CT", sh(2026, 11, 27, 9, 0))
    raised = sh(2026, 11, 27, 10, 0)
    clock.set(raised)
    cv = critical_values.raise_value(svc, exam, finding="大面积肺栓塞", by=actors["doctor"])
    clock.set(raised + timedelta(minutes=11))
    with pytest.raises(InvalidInput) as err:
        critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"],
                               at=raised + timedelta(minutes=5))
    assert err.value.code == "backdate_reason_required"
    view = critical_values.notify(svc, cv["id"], to="王医生", via="phone", read_back=True, by=actors["doctor"],
                                  at=raised + timedelta(minutes=5), reason="电话通知后补登")
    assert view["notify_late_reason"] == "电话通知后补登"
    at = raised + timedelta(minutes=20)
    clock.set(at)
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert (f["CP-8"]["within"], f["CP-8"]["late"], f["CP-9"]["basis"]) == (0, 1, "recorded")
    [row] = cockpit_drill.drill(svc, "CP-9", by=actors["admin"], as_of=at)["rows"]
    assert row["backdated"]
    assert "电话通知后补登" in row["flag"]
    assert row["notified_to"] == "王医生"
    assert row["verdict"] == "超时"
    assert row["minutes"] == 11.0
    settings_store.put(svc, "critical.timeliness_basis", "stated", by=actors["admin"])
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert (f["CP-8"]["within"], f["CP-9"]["text"]) == (1, "100.0%")


def test_trend_names_each_month_with_its_year(svc: Any, clock: Any, actors: Any) -> None:
    approved(svc, clock, "CT", sh(2025, 12, 10, 9, 0))
    approved(svc, clock, "CT", sh(2024, 12, 10, 9, 0))
    at = sh(2026, 1, 15, 12, 0)
    clock.set(at)
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)["CP-11"]
    assert f["labels"] == ["2025年8月", "2025年9月", "2025年10月", "2025年11月", "2025年12月", "2026年1月"]
    assert f["last_year_labels"][-2] == "2024年12月"
    assert (f["this_year_label"], f["last_year_label"]) == ("近6个月", "去年同期")
    assert (f["this_year"][-2], f["last_year"][-2]) == (1, 1)
    data, _ = cockpit_drill.export(svc, "CP-11", "csv", by=actors["admin"], as_of=at)
    text = data.decode("utf-8-sig")
    assert "2025年12月,1,2024年12月,1" in text


def test_patient_waiting_over_midnight_stays_on_the_list(svc: Any, clock: Any, actors: Any) -> None:
    waiting_since(svc, clock, "CT", sh(2026, 11, 26, 23, 0), "夜候诊")
    started = waiting_since(svc, clock, "CT", sh(2026, 11, 26, 22, 0), "已开始")
    event(svc, clock, started, "started", sh(2026, 11, 26, 23, 50))  # started before midnight: not today's
    at = sh(2026, 11, 27, 0, 40)
    clock.set(at)
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert [(w["patient"], w["waited_min"], w["still_waiting"]) for w in f["CP-15"]["items"]] == [
        ("夜候诊", 100, True)]
    assert cockpit_drill.drill(svc, "CP-15", by=actors["admin"], as_of=at)["count"] == 1


def test_readings_switch_by_setting(svc: Any, clock: Any, actors: Any) -> None:
    # Performed this month, report not approved yet.
    exam_id = make_exam(svc, clock, sh(2026, 11, 20, 8, 0), "DX")
    walk(svc, clock, exam_id, [("registered", sh(2026, 11, 20, 8, 5)), ("started", sh(2026, 11, 20, 8, 10))])
    approved(svc, clock, "CT", sh(2025, 11, 29, 9, 0))  # last year, after the same day
    at = sh(2026, 11, 27, 12, 0)
    clock.set(at)
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert f["CP-5"]["items"][0]["value"] == 0
    assert "报告审核完成" in f["CP-5"]["reading"]
    assert f["CP-1"]["last_year"] == 0
    settings_store.put(svc, "cockpit.completion_basis", "started", by=actors["admin"])
    settings_store.put(svc, "cockpit.last_year_basis", "whole_month", by=actors["admin"])
    f = cockpit.figures(svc, by=actors["admin"], as_of=at)
    assert f["CP-5"]["items"][0]["value"] == 1
    assert "检查已执行" in f["CP-5"]["reading"]
    assert f["CP-1"]["last_year"] == 1
    assert "整月" in f["CP-1"]["reading"]
    assert cockpit_drill.drill(svc, "CP-5", key="DX", by=actors["admin"], as_of=at)["count"] == 1


def test_monthly_report_is_a_pdf_with_embedded_font_figures_and_charts(svc: Any, clock: Any, actors: Any,
                                                                       tmp_path: Any) -> None:
    import shutil
    import subprocess

    from backend.services.cockpit import monthly

    approved(svc, clock, "CT", sh(2026, 10, 12, 9, 0))
    approved(svc, clock, "CT", sh(2025, 10, 14, 9, 0))
    clock.set(sh(2026, 11, 27, 12, 0))
    data, name = monthly.monthly_report(svc, "2026-10", by=actors["head"])  # a past month: not admin-only
    assert name == "cockpit-monthly-radiology-2026-10.pdf"
    assert data[:5] == b"%PDF-"
    with pytest.raises(InvalidInput):
        monthly.monthly_report(svc, "2027-01", by=actors["head"])
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils (pdftotext, pdffonts) not installed: content not checked")
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "放射科运营月报" in text
    assert "2026年10月" in text
    assert "+0.0%" in text  # CT: 1 this October against 1 last October
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = [line.split()[0] for line in fonts.splitlines()[2:] if "TrueType" in line and line.split()[-5] == "yes"]
    assert embedded, fonts  # the CJK font travels with the file
