"""LN-9 in the browser: the structured lung-nodule section, its live Lung-RADS suggestion, an override with
its reason, submit, approve and the printed PDF with the nodule table."""

from __future__ import annotations

import io

from pypdf import PdfReader

from backend.domain.exam_flow import Trigger
from backend.seed.reference import LUNG_NODULE_ITEM
from backend.services import auth, timeline
from tests.browser.conftest import field, login, logout, screenshot
from tests.conftest import PASSWORDS
from tests.helpers import register


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


def test_series_image_and_key_images_come_from_the_viewer_in_another_tab(page, live_server):
    from backend.services.imaging import archive
    from backend.services.reporting import reports as reporting
    from tests.imaging_helpers import ct_slice, file_bytes, header

    svc = live_server.services
    clerk = auth.login(svc, "clerk", PASSWORDS["clerk"])
    tech = auth.login(svc, "tech", PASSWORDS["tech"])
    exam = register(svc, clerk, LUNG_NODULE_ITEM, name="孙立群", sex="F")
    for trigger in (Trigger.CHECK_IN, Trigger.START, Trigger.COMPLETE):
        timeline.apply(svc, exam["exam_id"], trigger, by=tech)
    study, series = "1.2.826.0.1.79.1", "1.2.826.0.1.79.1.4"
    for n in range(11, 16):  # instance numbers 11..15: the picked number is the DICOM one, not the stack index
        ds = ct_slice(accession=exam["accession"], patient_id="P-PICK", number=n, size=32, fill=100 * n,
                      study_uid=study, series_uid=series, sop_uid=f"{series}.{n}")
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")

    login(page, live_server, "doctor", next_path=f"/panels/reports/{exam['accession']}")
    page.wait_for_selector(".lung-nodule-form")
    page.click("#ln-add")
    page.wait_for_selector(field(0, "long_mm"))
    pick = """[id*='"type":"ln-pick"'][id*='"row":0']"""
    page.click(pick)  # no viewer open yet: told what to do, nothing filled
    page.wait_for_selector("""[id*='"type":"ln-pick-msg"']:has-text('影像浏览')""")
    assert page.input_value(field(0, "series")) == ""

    with page.expect_popup() as popup:
        page.click("#ln-open-viewer")
    viewer = popup.value
    viewer.wait_for_selector("#viewer-root[data-position='1/13']")  # the middle of five
    viewer.click("#viewer-frame-0")
    viewer.keyboard.press("ArrowDown")
    viewer.keyboard.press("ArrowDown")
    viewer.wait_for_selector("#viewer-root[data-position='1/15']")
    viewer.click("#viewer-preset-0")  # lung window: the pane keeps it while scrolling; stored with each key image
    viewer.click("#viewer-mark-key")
    viewer.keyboard.press("Home")
    viewer.wait_for_selector("#viewer-root[data-position='1/11']")
    viewer.click("#viewer-mark-key")
    viewer.wait_for_selector("#viewer-root[data-keys='2']")
    screenshot(viewer, "viewer-key-images")

    page.bring_to_front()
    page.click(pick)
    page.wait_for_selector("""[id*='"type":"ln-pick-msg"']:has-text('已取：序列 1 / 图像 11')""")
    assert (page.input_value(field(0, "series")), page.input_value(field(0, "image"))) == ("1", "11")
    page.fill(field(0, "long_mm"), "9")
    page.fill(field(0, "short_mm"), "7.2")
    page.click("#ln-key-import")
    page.wait_for_selector("#ln-key-msg:has-text('已导入 2 幅')")
    page.wait_for_selector(".ln-key-image:has-text('序列 1 / 图像 11')")
    assert page.locator(".ln-key-image").count() == 2
    page.wait_for_selector("#ln-category:has-text('4A')")
    page.fill("textarea[id*='impression']", "右肺结节。")
    page.click("#rep-save")
    page.wait_for_selector("#rep-flash:has-text('草稿已保存')")
    screenshot(page, "report-editor-key-images")

    saved = reporting.get(svc, exam["exam_id"], by=auth.login(svc, "doctor", PASSWORDS["doctor"]))["sections"]
    section = saved["lung_nodules"]
    assert (section["nodules"][0]["series"], section["nodules"][0]["image"]) == (1, 11)
    assert [(k["sop_uid"], k["image"], k["window"]) for k in section["key_images"]] == [
        (f"{series}.15", 15, [-600.0, 1500.0]), (f"{series}.11", 11, [-600.0, 1500.0])]
