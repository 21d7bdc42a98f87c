"""LN-1, LN-2, LN-3, PE-3 in a real browser: a clerk registers with and without a slot, then finds both
exams in the exam list (by accession and by filters) and opens the row's context menu."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, pick_option, screenshot


def _pick_item(page, code: str) -> None:
    pick_option(page, "#reg-item", code)


def _fill_patient(page, mrn: str, name: str) -> None:
    page.fill("#reg-mrn", mrn)
    page.fill("#reg-name", name)
    page.check("#reg-sex input[value=F]", force=True)
    page.fill("#reg-birth", "1968-05-12")
    page.fill("#reg-dept", "胸外科")
    page.fill("#reg-doctor", "李医生")


def _register(page, server, *, mrn: str, name: str, item: str, with_slot: bool) -> str:
    page.goto(f"{server.base}/panels/register")
    page.wait_for_selector("#reg-submit")
    _fill_patient(page, mrn, name)
    _pick_item(page, item)
    if with_slot:
        page.wait_for_selector("#reg-slot-card", state="visible")
        page.wait_for_selector("#reg-needs-slot")
        page.locator("#reg-slot input:not([disabled])").first.wait_for(state="attached")
        assert page.locator("#reg-slot input[disabled]").count() >= 1  # 08:00 and earlier hours are over
        page.locator("#reg-slot label").filter(has_not_text="已过").first.click()
    else:
        page.wait_for_selector("#reg-no-slot")
        assert not page.is_visible("#reg-slot-card")
    screenshot(page, f"register-{item.lower()}-form")
    page.click("#reg-submit")
    page.wait_for_selector("#reg-success")
    accession = page.inner_text("#reg-accession").strip()
    assert ("预约时段" in page.inner_text("#reg-success-info")) is with_slot
    assert re.fullmatch(r"RA\d{8}\d+", accession)
    screenshot(page, f"register-{item.lower()}-done")
    return accession


def test_clerk_registers_with_and_without_slot_and_finds_both(page, live_server):
    login(page, live_server, "clerk")
    assert page.url.endswith("/panels/register")
    acc_ct = _register(page, live_server, mrn="BR0001", name="林晓梅", item="CT-CHEST", with_slot=True)
    acc_ln = _register(page, live_server, mrn="BR0002", name="周建国", item="CT-LN-TR", with_slot=False)

    page.click("#reg-to-list")
    page.wait_for_selector(f"#exams-table tr:has-text('{acc_ln}')")
    assert page.locator("#exams-table tbody tr").count() == 1
    screenshot(page, "exams-by-accession")

    page.goto(f"{live_server.base}/panels/exams")
    page.wait_for_selector(f"#exams-table tr:has-text('{acc_ct}')")
    page.wait_for_selector(f"#exams-table tr:has-text('{acc_ln}')")
    page.click("#exams-item")
    page.keyboard.type("肺结节")
    page.locator(".dash-dropdown-option, [role=option]").filter(has_text="肺结节").first.click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "document.querySelectorAll('#exams-table tbody tr').length === 1")
    row = page.locator("#exams-table tbody tr").first
    assert acc_ln in row.inner_text()
    assert "已登记" in row.inner_text()
    screenshot(page, "exams-filter-item")

    row.click(button="right")
    page.wait_for_selector("#exams-menu .dropdown-item")
    labels = page.locator("#exams-menu .dropdown-item").all_inner_texts()
    assert "查看详情" in labels
    assert "取消检查" in labels
    assert "书写报告" not in labels  # a clerk writes no reports
    screenshot(page, "exams-context-menu")
    page.locator("#exams-menu .dropdown-item", has_text="查看详情").click()
    page.wait_for_selector("#exams-detail-timeline")
    page.wait_for_timeout(500)  # let the dialog finish fading in before the screenshot
    assert "登记" in page.inner_text("#exams-detail-timeline")
    screenshot(page, "exams-detail")


def test_exam_list_updates_live_and_cancel_needs_a_reason(page, live_server):
    from backend.services import auth
    from tests.helpers import register

    login(page, live_server, "clerk", next_path="/panels/exams")
    page.wait_for_selector("#exams-live.text-success")
    clerk = auth.login(live_server.services, "clerk", "clerk123456")
    acc = register(live_server.services, clerk, "DR-CHEST", name="实时测试")["accession"]
    page.wait_for_selector(f"#exams-table tr:has-text('{acc}')", timeout=10000)
    page.locator(f"#exams-table tr:has-text('{acc}')").click(button="right")
    page.locator("#exams-menu .dropdown-item", has_text="取消检查").click()
    page.wait_for_selector("#exams-cancel-reason", state="visible")
    page.click("#exams-cancel-confirm")
    page.wait_for_selector("#exams-cancel-error", state="visible")
    assert "取消原因" in page.inner_text("#exams-cancel-error")
    page.fill("#exams-cancel-reason", "患者要求取消")
    page.click("#exams-cancel-confirm")
    page.wait_for_selector(f"#exams-table tr.row-cancelled:has-text('{acc}')")
    screenshot(page, "exams-after-cancel")


def test_register_page_refuses_clearly_and_fills_a_known_patient(page, live_server):
    from backend.services import auth
    from tests.helpers import register

    clerk = auth.login(live_server.services, "clerk", "clerk123456")
    register(live_server.services, clerk, "DR-CHEST", mrn="KNOWN01", name="欧阳娜娜")
    login(page, live_server, "clerk")
    page.wait_for_selector("#reg-submit")
    page.click("#reg-submit")
    page.wait_for_selector("#reg-error")
    assert "请选择检查项目" in page.inner_text("#reg-error")
    page.fill("#reg-mrn", "KNOWN01")
    page.press("#reg-mrn", "Enter")
    page.wait_for_function("document.querySelector('#reg-name').value === '欧阳娜娜'")
    assert "既往检查 1 次" in page.inner_text("#reg-lookup-msg")
    _pick_item(page, "CT-CHEST")
    page.wait_for_selector("#reg-slot-card", state="visible")
    page.check("#reg-class input[value=emergency]", force=True)
    page.wait_for_selector("#reg-slot-card", state="hidden")  # emergency patients need no slot
    page.check("#reg-class input[value=outpatient]", force=True)
    page.wait_for_selector("#reg-slot-card", state="visible")
    page.click("#reg-submit")  # no slot chosen: refused in Chinese, nothing written
    # The first refusal is still on screen: wait for the new message rather than for the element.
    expect(page.locator("#reg-error")).to_contain_text("需要选择预约号源")
    screenshot(page, "register-refused")
