"""LN-9 in the browser: the structured lung-nodule section, its live Lung-RADS suggestion, an override with
its reason, submit, approve and the printed PDF with the nodule table."""

from __future__ import annotations

import io

from pypdf import PdfReader

from backend.domain.exam_flow import Trigger
from backend.seed.reference import LUNG_NODULE_ITEM
from backend.services import auth, timeline
from tests.browser.conftest import login, logout, screenshot
from tests.conftest import PASSWORDS
from tests.helpers import register


def field(row: int, name: str) -> str:
    return f"""[id*='"field":"{name}"'][id*='"row":{row},']"""


def test_doctor_writes_a_lung_nodule_report_with_an_override(page, live_server):
    svc = live_server.services
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    tech = auth.login(svc, "tech", PASSWORDS["tech"])
    exam = register(svc, clerk, LUNG_NODULE_ITEM, name="钱国栋", sex="M")
    for trigger in (Trigger.CHECK_IN, Trigger.START, Trigger.COMPLETE):
        timeline.apply(svc, exam["exam_id"], trigger, by=tech)

    login(page, live_server, "doctor", next_path=f"/panels/reports/{exam['accession']}")
    page.wait_for_selector(".lung-nodule-form")
    page.click("#ln-add")
    page.wait_for_selector(field(0, "long_mm"))
    page.select_option(field(0, "lobe"), "RUL")
    page.fill(field(0, "segment"), "尖段")
    page.fill(field(0, "series"), "3")
    page.fill(field(0, "image"), "45")
    page.fill(field(0, "long_mm"), "9")
    page.fill(field(0, "short_mm"), "7.2")
    page.wait_for_selector("#ln-category:has-text('4A')")
    assert "8.1 mm → 4A" in page.inner_text("#ln-per-nodule")
    assert "3个月后复查" in page.inner_text("#ln-recommendation")

    page.click("#ln-add")  # a second nodule, then removed again: the first keeps what was typed
    page.wait_for_selector(field(1, "long_mm"))
    page.fill(field(1, "long_mm"), "5")
    page.fill(field(1, "short_mm"), "6")  # short > long: refused in Chinese while typing
    page.wait_for_selector("#ln-error:has-text('短径')")
    page.click("""[id*='"type":"ln-remove"'][id*='"row":1']""")
    page.wait_for_selector(field(1, "long_mm"), state="detached")
    assert page.input_value(field(0, "long_mm")) == "9"
    page.select_option("#ln-cac", "moderate")
    page.wait_for_selector("#ln-category:has-text('4AS')")

    page.select_option("#ln-override", "4B")
    page.fill("textarea[id*='impression']", "右肺上叶尖段实性结节，建议进一步检查。")
    page.click("#rep-save")
    page.wait_for_selector("#rep-flash:has-text('原因')")
    page.fill("#ln-override-reason", "分叶并胸膜牵拉")
    page.wait_for_selector("#ln-stated:has-text('4BS')")
    page.click("#rep-save")
    page.wait_for_selector("#rep-flash:has-text('草稿已保存')")
    assert page.input_value(field(0, "short_mm")) == "7.2"
    screenshot(page, "report-editor-lung-nodules")
    page.click("#rep-submit")
    page.wait_for_selector("#rep-flash:has-text('报告已提交审核')")

    logout(page)
    login(page, live_server, "senior", next_path=f"/panels/reports/{exam['accession']}")
    page.wait_for_selector("#rep-approve")
    assert "4BS" in page.inner_text("#ln-stated")
    page.click("#rep-approve")
    page.wait_for_selector("#rep-flash:has-text('报告已审核通过')")
    href = page.get_attribute("#rep-print", "href")
    resp = page.request.get(f"{live_server.base}{href}")
    assert resp.status == 200
    text = PdfReader(io.BytesIO(resp.body())).pages[0].extract_text().replace("\n", "").replace(" ", "")
    for words in ("右肺上叶尖段", "3/45", "9.0×7.2", "结论分类：4BS", "分叶并胸膜牵拉", "Lung-RADSv2022"):
        assert words in text, words
