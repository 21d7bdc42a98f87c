"""ORU^R01 written by `build_oru` and read by the emulated center: every value comes back as it was, in each
accepted MSH-18 charset, with the delimiters and line breaks in the text escaped (issue 14.13)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.ports.health_check import HealthCheckResult
from integrations.health_check.result_receiver import read_result
from integrations.health_check.results import build_oru

TZ = ZoneInfo("Asia/Shanghai")


def result(**kw) -> HealthCheckResult:
    base = {"control_id": "RADOPS-ORU-7", "placer_order_no": "TJD0007", "accession": "RA2026112700007", "mrn": "TJ7",
            "patient_name": "欧阳明", "sex": "M", "birth_date": date(1958, 11, 27), "item_code": "CT-LDCT",
            "item_name": "胸部低剂量CT", "result_status": "F", "version": 1,
            "observed_at": datetime(2026, 11, 27, 1, 0, tzinfo=UTC),
            "approved_at": datetime(2026, 11, 27, 3, 0, tzinfo=UTC), "author": "李医生", "approver": "王主任",
            "sections": (("检查所见", "右肺上叶结节 8mm|边界^清楚&\\\n第二行"), ("诊断意见", "建议复查")),
            "pdf": b"%PDF-1.4 fake \x00\xff bytes"}
    return HealthCheckResult(**(base | kw))


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", "GB 18030-2000", "GB18030", "UNICODE"])
def test_what_we_write_the_center_reads_back(charset):
    raw = build_oru(result(), at=datetime(2026, 11, 27, 3, 1, tzinfo=UTC), charset=charset, tz=TZ)
    got = read_result(raw)
    assert (got.control_id, got.placer_order_no, got.accession, got.status) == (
        "RADOPS-ORU-7", "TJD0007", "RA2026112700007", "F")
    assert got.charset == charset
    assert got.sections == (("检查所见", "右肺上叶结节 8mm|边界^清楚&\\\n第二行"), ("诊断意见", "建议复查"))
    assert got.pdf == b"%PDF-1.4 fake \x00\xff bytes"
    assert "20261127110000+0800" in raw.decode("gb18030" if "GB" in charset else "utf-8")  # OBR-22, site time


def test_a_url_instead_of_the_pdf_and_a_correction():
    raw = build_oru(result(pdf=None, pdf_url="https://pacs/r/7.pdf", result_status="C", version=2),
                    at=datetime(2026, 11, 27, 3, 1, tzinfo=UTC), charset="UNICODE UTF-8", tz=TZ)
    got = read_result(raw)
    assert (got.pdf, got.pdf_url, got.status) == (None, "https://pacs/r/7.pdf", "C")
    assert b"|RP|" in raw
    assert base64.b64encode(b"%PDF").decode() not in raw.decode()


def test_an_unsupported_charset_is_refused_before_sending():
    with pytest.raises(ValueError, match="unsupported"):
        build_oru(result(), at=datetime(2026, 11, 27, tzinfo=UTC), charset="UNICODE UTF-16", tz=TZ)


@pytest.mark.parametrize(("data", "charset"), [("PID|1||X||李秀兰".encode("gb18030"), "GB 18030-2000"),
                                              ("PID|1||X||李秀兰".encode(), "GB18030"),
                                              ("PID|1||X||李秀兰".encode(), "")])
def test_the_monitor_reads_gb18030_and_utf8_declared_right_or_wrong(data, charset):
    from integrations.health_check.er7 import readable_text

    assert readable_text(data, charset) == "PID|1||X||李秀兰"
    assert "\ufffd" in readable_text(b"PID|\xff\xfe", "UNICODE UTF-8")
