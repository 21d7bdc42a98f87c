"""A radiologist writes and submits a report, a senior approves it and prints the PDF; critical values."""

from __future__ import annotations

import io

from pypdf import PdfReader

from backend.domain.exam_flow import Trigger
from backend.services import auth, timeline
from tests.browser.conftest import login, logout, screenshot
from tests.conftest import PASSWORDS
from tests.helpers import register

FINDINGS = "左肺下叶背段见磨玻璃结节，直径约7mm，边界清楚。"
IMPRESSION = "左肺下叶磨玻璃结节，建议年度低剂量CT随访。"


def completed_exam(server, name="周晓梅"):
    svc = server.services
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    tech = auth.login(svc, "tech", PASSWORDS["tech"])
    exam = register(svc, clerk, "DR-CHEST", name=name, sex="F", ordering_department="胸外科")
    for trigger in (Trigger.CHECK_IN, Trigger.START, Trigger.COMPLETE):
        timeline.apply(svc, exam["exam_id"], trigger, by=tech)
    return exam


def flash(page, text):
    page.wait_for_selector(f"#rep-flash:has-text('{text}')")


def test_write_submit_approve_and_print(page, live_server):
    exam = completed_exam(live_server)
    login(page, live_server, "doctor", next_path="/panels/worklist")
    page.click(f"#work-table a:has-text('{exam['accession']}')")
    page.wait_for_selector("#rep-header")
    assert "周晓梅" in page.inner_text("#rep-patient")
    page.fill("textarea[id*='findings']", FINDINGS)
    page.fill("textarea[id*='impression']", IMPRESSION)
    page.click("#rep-save")
    flash(page, "草稿已保存")
    assert "书写中" in page.inner_text("#rep-status")
    page.click("#rep-submit")
    flash(page, "报告已提交审核")
    assert "待审核" in page.inner_text("#rep-status")
    assert page.is_hidden("#rep-approve")

    logout(page)
    login(page, live_server, "senior", next_path="/panels/review")
    page.click(f"#review-table tr:has-text('{exam['accession']}') a:has-text('审核')")
    page.wait_for_selector("#rep-approve")
    assert page.input_value("textarea[id*='findings']") == FINDINGS
    page.click("#rep-approve")
    flash(page, "报告已审核通过")
    assert "已审核" in page.inner_text("#rep-status")
    assert "主任医师 赵强" in page.inner_text("#rep-versions")
    screenshot(page, "report-editor-approved")

    href = page.get_attribute("#rep-print", "href")
    resp = page.request.get(f"{live_server.base}{href}")
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(resp.body())).pages[0].extract_text().replace("\n", "")
    assert FINDINGS in text
    assert "周晓梅" in text
    assert IMPRESSION in text


def test_returned_report_and_messages(page, live_server):
    exam = completed_exam(live_server, name="孙建国")
    login(page, live_server, "doctor", next_path=f"/panels/reports/{exam['accession']}")
    page.wait_for_selector("#rep-save")
    page.fill("textarea[id*='findings']", FINDINGS)
    page.click("#rep-submit")
    page.wait_for_selector("#rep-flash:has-text('请先填写：诊断意见')")
    page.fill("textarea[id*='impression']", IMPRESSION)
    page.click("#rep-submit")
    flash(page, "报告已提交审核")
    screenshot(page, "report-editor-submitted")
    logout(page)
    login(page, live_server, "senior", next_path=f"/panels/reports/{exam['accession']}")
    page.click("#rep-return")
    flash(page, "退回报告必须填写退回原因")
    page.fill("#rep-return-reason", "请补充与既往片对比")
    page.click("#rep-return")
    flash(page, "报告已退回")
    assert "请补充与既往片对比" in page.inner_text("#rep-returned")


def test_raise_and_notify_a_critical_value(page, live_server):
    exam = completed_exam(live_server, name="钱立新")
    login(page, live_server, "doctor", next_path=f"/panels/reports/{exam['accession']}")
    page.wait_for_selector("#rep-critical")
    page.fill("#rep-critical-finding", "右侧张力性气胸")
    page.click("#rep-critical")
    flash(page, "危急值已上报")
    live_server.clock.advance(minutes=4)
    page.reload()
    page.click("#rep-critical-list a:has-text('登记通知')")
    page.wait_for_selector("#crit-table")
    assert "已 4 分钟未通知" in page.inner_text("#crit-table")
    assert "钱立新" in page.inner_text("#crit-pick")
    page.fill("#crit-to", "胸外科 王医生")
    page.check("#crit-readback")
    page.click("#crit-notify")
    page.wait_for_selector("#crit-flash:has-text('在时限内')")
    assert "已复述确认" in page.inner_text("#crit-table")
    screenshot(page, "critical-values")
