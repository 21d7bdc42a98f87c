"""The printed report: Chinese text extractable, page 1 rendered to PNG, drafts refused, prints on the timeline."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from backend.db.models import ExamEvent
from backend.domain.errors import Conflict, Forbidden
from backend.services.base import transaction
from backend.services.reporting import pdf as report_pdf
from backend.services.reporting import reports as reporting
from tests.conftest import ROOT
from tests.reporting_helpers import FINDINGS, IMPRESSION, approved, submitted

SCREENSHOTS = ROOT / "var" / "screenshots"


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_has_the_chinese_header_patient_sections_and_signatures(svc, actors):
    exam = approved(svc, actors, name="欧阳明华")
    pdf = report_pdf.print_report(svc, exam["exam_id"], by=actors["doctor"])
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pages[0].mediabox.width == pytest.approx(595.27, abs=0.5)  # A4
    text = text_of(pdf)
    for expected in ("省肿瘤医院", "放射科", "欧阳明华", exam["accession"], "检查所见", FINDINGS[:12], "诊断意见",
                     IMPRESSION[:8], "报告医师", "医师 刘洋", "审核医师", "主任医师 赵强", "报告仅供临床参考",
                     "第 1 页 / 共 1 页"):
        assert expected in text.replace("\n", ""), expected


def test_page_one_renders_to_png(svc, actors, tmp_path):
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed; cannot render the PDF to an image")
    exam = approved(svc, actors, name="欧阳明华")
    path = tmp_path / "report.pdf"
    path.write_bytes(report_pdf.print_report(svc, exam["exam_id"], by=actors["senior"]))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(SCREENSHOTS / "report-pdf-page1")], check=True, timeout=60)
    png = SCREENSHOTS / "report-pdf-page1.png"
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_long_reports_flow_onto_numbered_pages(svc, actors):
    exam = approved(svc, actors)
    eid = exam["exam_id"]
    r = reporting.amend(svc, eid, reason="补充全部描述", by=actors["doctor"])
    long_text = "\n".join(f"{i}. 所见描述第{i}行，层面清晰，未见明确异常强化灶。" for i in range(1, 90))
    reporting.save_draft(svc, eid, sections={"findings": long_text}, by=actors["doctor"],
                         expected_lock=r["report"]["lock"])
    reporting.submit(svc, eid, by=actors["doctor"])
    reporting.approve(svc, eid, by=actors["senior"])
    text = text_of(report_pdf.print_report(svc, eid, by=actors["senior"])).replace("\n", "")
    assert "更正报告（第 2 版）" in text
    assert "补充全部描述" in text
    assert "第 2 页 / 共 3 页" in text
    assert "89. 所见描述第89行" in text
    assert "检查号 " + exam["accession"] + "（续）" in text


def test_a_report_never_approved_is_refused(svc, actors):
    exam = submitted(svc, actors)
    with pytest.raises(Conflict) as e:
        report_pdf.print_report(svc, exam["exam_id"], by=actors["senior"])
    assert e.value.code == "report_not_final"
    assert "尚未审核" in e.value.message
    with pytest.raises(Forbidden):
        report_pdf.print_report(svc, exam["exam_id"], by=actors["typist"])


def test_while_amending_the_last_approved_version_prints(svc, actors):
    exam = approved(svc, actors)
    r = reporting.amend(svc, exam["exam_id"], reason="更正", by=actors["doctor"])
    reporting.save_draft(svc, exam["exam_id"], sections={"impression": "尚未审核的新诊断"}, by=actors["doctor"],
                         expected_lock=r["report"]["lock"])
    text = text_of(report_pdf.print_report(svc, exam["exam_id"], by=actors["nurse"]))
    assert "尚未审核的新诊断" not in text
    assert IMPRESSION[:8] in text


def test_printing_appends_report_printed(svc, actors):
    exam = approved(svc, actors)
    report_pdf.print_report(svc, exam["exam_id"], by=actors["nurse"])
    report_pdf.print_report(svc, exam["exam_id"], by=actors["nurse"])
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(ExamEvent.details).where(ExamEvent.exam_id == exam["exam_id"],
                                                                  ExamEvent.kind == "report_printed")).all()
    assert rows == [{"version": 1}, {"version": 1}]


@pytest.mark.parametrize(("birth", "on", "age"), [
    (date(1960, 5, 3), date(2026, 5, 2), "65岁"), (date(1960, 5, 3), date(2026, 5, 3), "66岁"),
    (date(2025, 6, 1), date(2026, 5, 1), "11月"), (None, date(2026, 5, 1), ""),
])
def test_age_text(birth, on, age):
    assert report_pdf.age_at(birth, on) == age


def test_the_font_falls_back_to_the_standard_cid_font(tmp_path):
    not_a_font = tmp_path / "broken.ttf"
    not_a_font.write_bytes(b"not a font")
    assert report_pdf.report_font(str(not_a_font)) in {"STSong-Light", "RadOpsCJK"}
    assert report_pdf.report_font(None) in {"STSong-Light", "RadOpsCJK"}


RARE = "𠀀𠀁𪚥龘测试"


def test_rare_characters_print_as_themselves(svc, actors, tmp_path):
    """Issue 16.5: a name from Extension B prints with an embedded font and extracts as the same text."""
    pdftotext, pdftoppm = shutil.which("pdftotext"), shutil.which("pdftoppm")
    if pdftotext is None or pdftoppm is None:
        pytest.skip("poppler-utils (pdftotext, pdftoppm) is not installed")
    exam = approved(svc, actors, name=RARE)
    path = tmp_path / "rare.pdf"
    path.write_bytes(report_pdf.print_report(svc, exam["exam_id"], by=actors["doctor"]))
    text = subprocess.run([pdftotext, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()
    assert f"姓名：{RARE}" in text.replace("\n", "")
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, timeout=60).stdout.decode()
    assert "STSong-Light" not in fonts  # every face embedded, none left to the viewer's substitutes
    assert "RadOpsNoto" in fonts
    assert "HanaMinB" in fonts  # Extension B came from the fallback (fonts-hanazono)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(SCREENSHOTS / "report-pdf-rare-name")], check=True, timeout=60)
    assert (SCREENSHOTS / "report-pdf-rare-name.png").stat().st_size > 10_000


def test_a_long_name_wraps_inside_its_cell(svc, actors, tmp_path):
    """The patient block's cells wrap: a long name stays in its column instead of running into the next."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    long_name = "欧阳" + "𪚥龘" * 10
    exam = approved(svc, actors, name=long_name)
    path = tmp_path / "long.pdf"
    path.write_bytes(report_pdf.print_report(svc, exam["exam_id"], by=actors["doctor"]))
    bbox = subprocess.run([pdftotext, "-bbox", str(path), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()
    import re

    # Every word of the name ends left of the second column (A4 width / 4 from the left margin).
    words = re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)</word>', bbox)
    name_words = [float(x) for x, w in words if "龘" in w]
    assert name_words
    assert max(name_words) < 51 + (595.27 - 102 - 12) / 4 + 2
