"""Issue 11's whole flow in one browser test, with the real RECON emulator over loopback DICOM (LN-4..LN-9):
the technologist right-clicks the exam, links the prior (检查中), RadOps sends it and the results return
(检查完成, 重建完成); the doctor opens the viewer (reconstruction beside its source) from the structured
report, picks the nodule's series/image and a key image from it, types the measurements of the phantom's
nodule, sees the Lung-RADS suggestion and submits; the senior approves; the printed PDF has the nodule table,
the category and an embedded Chinese font; the DICOM SR with the category is in the exam's study, found by
QIDO-RS and read back with WADO-RS, pydicom and highdicom."""

from __future__ import annotations

import io
import shutil
import subprocess
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import highdicom as hd
import pytest
from pydicom import dcmread
from pypdf import PdfReader

from backend.domain.actor import SYSTEM
from backend.seed.reference import LUNG_NODULE_ITEM
from backend.services.imaging import archive
from tests.browser.conftest import (
    SCREENSHOTS,
    field,
    login,
    logout,
    open_recon_dialog,
    screenshot,
    send_and_wait_for_results,
    wait_viewer_pair,
)
from tests.helpers import register
from tests.imaging_helpers import file_bytes, header
from tests.synthetic_helpers import slab

pytestmark = pytest.mark.browser
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def _dicom_parts(body: bytes, content_type: str) -> list[bytes]:
    """The bodies of a WADO-RS multipart/related answer."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return [part.get_payload(decode=True) for part in message.iter_parts()]


def _flat(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "").replace(" ", "")


def test_right_click_to_reconstruction_report_pdf_and_sr(recon_server: Any, page: Any, tmp_path: Path) -> None:
    server, _emu = recon_server
    svc = server.services
    source, nodules = slab()
    nodule = next(n for n in nodules if n.kind == "part_solid")  # the phantom's nodule, as painted
    for ds in source:
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")
    accession = register(svc, SYSTEM, LUNG_NODULE_ITEM, mrn=str(source[0].PatientID), name="全流程")["accession"]

    # The technologist: right-click → prior list → link (检查中, 待发送).
    login(page, server, "tech", next_path="/panels/exams")
    open_recon_dialog(page, accession, len(source))
    screenshot(page, "ln_flow_1_priors")
    page.click("#recon-confirm")
    page.wait_for_selector("#recon-state:has-text('待发送')")
    page.click("#recon-close")
    page.wait_for_selector(f"#exams-table tr:has-text('{accession}'):has-text('检查中'):has-text('待发送')")

    # Send to RECON over loopback DICOM; its results come back: 检查完成, 重建完成.
    link = send_and_wait_for_results(svc, accession)
    page.click("#exams-search")
    page.wait_for_selector(f"#exams-table tr:has-text('{accession}'):has-text('检查完成'):has-text('重建完成')")
    screenshot(page, "ln_flow_2_reconstructed")
    logout(page)

    # The doctor: the structured report, the viewer beside it (reconstruction | source).
    login(page, server, "doctor", next_path=f"/panels/reports/{accession}")
    page.wait_for_selector(".lung-nodule-form")
    page.click("#ln-add")
    page.wait_for_selector(field(0, "long_mm"))
    with page.expect_popup() as popup:
        page.click("#ln-open-viewer")
    viewer = popup.value
    viewer.set_default_timeout(15000)
    loaded = wait_viewer_pair(viewer)
    assert link["results"][0]["uid"] in loaded[0]
    assert link["source_series_uid"] in loaded[1]
    today = svc.clock().astimezone(svc.tz).strftime("%Y%m%d")
    assert viewer.locator(f"text=本次 {today}").count() >= 1  # this exam's study is dated today, not as the prior
    viewer.click("#viewer-frame-0")  # the reconstruction's pane: one image down, then marked as a key image
    before = viewer.get_attribute("#viewer-root", "data-position")
    viewer.keyboard.press("ArrowDown")
    viewer.wait_for_function(f"() => document.getElementById('viewer-root').dataset.position !== '{before}'")
    position = str(viewer.get_attribute("#viewer-root", "data-position"))
    viewer.click("#viewer-mark-key")
    viewer.wait_for_selector("#viewer-root[data-keys='1']")
    screenshot(viewer, "ln_flow_3_viewer")

    page.bring_to_front()
    page.click("""[id*='"type":"ln-pick"'][id*='"row":0']""")
    series, image = position.split("/")
    page.wait_for_selector(f"""[id*='"type":"ln-pick-msg"']:has-text('已取：序列 {series} / 图像 {image}')""")
    assert (page.input_value(field(0, "series")), page.input_value(field(0, "image"))) == (series, image)
    page.select_option(field(0, "lobe"), "LUL")
    page.fill(field(0, "segment"), "尖后段")
    page.select_option(field(0, "type"), "part_solid")
    page.fill(field(0, "long_mm"), str(nodule.long_mm))
    page.fill(field(0, "short_mm"), str(nodule.short_mm))
    page.fill(field(0, "solid_long_mm"), str(nodule.solid_mm))
    page.fill(field(0, "solid_short_mm"), str(nodule.solid_mm))
    # Baseline part-solid nodule ≥ 6 mm whose solid component is 6 to < 8 mm: Lung-RADS v2022 4A.
    page.wait_for_selector("#ln-category:has-text('4A')")
    mean = round((nodule.long_mm + nodule.short_mm) / 2 + 1e-9, 1)
    assert f"{mean:.1f} mm → 4A" in page.inner_text("#ln-per-nodule")
    shown = "s => s.options[s.selectedIndex].text"  # what each select shows (dbc's hidden placeholder once hid these)
    assert page.eval_on_selector("#ln-override", shown) == "不调整（采用建议分类）"
    assert page.eval_on_selector(field(0, "change"), shown) == "—"
    recommendation = page.inner_text("#ln-recommendation").removeprefix("处理建议：").replace(" ", "")
    page.click("#ln-key-import")
    page.wait_for_selector("#ln-key-msg:has-text('已导入 1 幅')")
    page.wait_for_selector(f".ln-key-image:has-text('序列 {series} / 图像 {image}')")
    page.fill("textarea[id*='impression']", "左肺上叶尖后段部分实性结节，靶重建示实性成分。")
    page.click("#rep-save")
    page.wait_for_selector("#rep-flash:has-text('草稿已保存')")
    screenshot(page, "ln_flow_4_report")
    page.click("#rep-submit")
    page.wait_for_selector("#rep-flash:has-text('报告已提交审核')")
    viewer.close()
    logout(page)

    # The senior approves; the PDF is printed.
    login(page, server, "senior", next_path=f"/panels/reports/{accession}")
    page.wait_for_selector("#rep-approve")
    page.click("#rep-approve")
    page.wait_for_selector("#rep-flash:has-text('报告已审核通过')")
    screenshot(page, "ln_flow_5_approved")
    resp = page.request.get(f"{server.base}{page.get_attribute('#rep-print', 'href')}")
    assert resp.status == 200
    pdf = resp.body()
    text = _flat(pdf)
    for words in ("左肺上叶尖后段", f"{series}/{image}", f"{nodule.long_mm:.1f}×{nodule.short_mm:.1f}", f"{mean:.1f}",
                  "部分实性", "结论分类：4A", "Lung-RADSv2022", recommendation, "关键图像：",
                  f"序列{series}/图像{image}"):
        assert words in text, words
    path = tmp_path / "flow.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, timeout=60).stdout.decode()
    assert "STSong-Light" not in fonts
    faces = [line for line in fonts.splitlines()[2:] if "RadOps" in line]
    assert faces, fonts
    assert all(" yes " in line for line in faces), fonts  # the Chinese faces are embedded
    if shutil.which("pdftoppm") is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
                        str(SCREENSHOTS / "ln_flow_6_pdf")], check=True, timeout=60)

    # The SR in the exam's study: QIDO-RS on the Comprehensive SR class, WADO-RS, read with highdicom.
    study = link["target_study_uid"]
    found = page.request.get(f"{server.base}/dicomweb/studies/{study}/instances?SOPClassUID={COMPREHENSIVE_SR}")
    assert found.status == 200
    hits = found.json()
    assert len(hits) == 1, hits
    url = hits[0]["00081190"]["Value"][0]
    got = page.request.get(url, headers={"Accept": 'multipart/related; type="application/dicom"'})
    assert got.status == 200
    (data,) = _dicom_parts(got.body(), got.headers["content-type"])
    ds = dcmread(io.BytesIO(data))
    assert (ds.SOPClassUID, ds.StudyInstanceUID, ds.AccessionNumber) == (COMPREHENSIVE_SR, study, accession)
    assert ds.PatientID == source[0].PatientID
    assert (ds.CompletionFlag, ds.VerificationFlag) == ("COMPLETE", "VERIFIED")
    content = str(hd.sr.ComprehensiveSR.from_dataset(ds).ContentSequence)
    for meaning in ("Lung-RADS 4A", "Part-solid", "Nodule 1 LUL", "Long axis", "Short axis"):
        assert meaning in content, meaning
    assert f"{mean:.1f}" in content
