"""The lung-nodule reconstruction flow in Chromium (LN-4..LN-8): the exam list's right-click 引用历史图像, the
dialog with the patient's prior and its series thumbnail, linking (the row turns 检查中 and shows 待发送), the
send to the RECON emulator over loopback DICOM and its results (检查完成, 重建完成), then the viewer opening
the reconstruction beside its source."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.actor import SYSTEM
from backend.services.imaging import archive
from tests.browser.conftest import login, open_recon_dialog, screenshot, send_and_wait_for_results, wait_viewer_pair
from tests.helpers import register
from tests.imaging_helpers import file_bytes, header
from tests.synthetic_helpers import slab

pytestmark = pytest.mark.browser


def test_right_click_link_send_and_view_beside_the_source(recon_server: Any, page: Any) -> None:
    server, _emu = recon_server
    svc = server.services
    source, _nodules = slab()
    for ds in source:
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")
    accession = register(svc, SYSTEM, "CT-LN-TR", mrn=str(source[0].PatientID), name="靶重建")["accession"]

    login(page, server, "tech", next_path="/panels/exams")
    open_recon_dialog(page, accession, len(source))
    screenshot(page, "recon_priors_dialog")

    page.click("#recon-confirm")
    page.wait_for_selector("#recon-state:has-text('待发送')")
    page.wait_for_selector("#recon-confirm", state="hidden")
    screenshot(page, "recon_linked")
    page.click("#recon-undo")  # undo before sending: the link goes, the exam goes back to 已登记
    page.wait_for_selector("#recon-confirm", state="visible")
    assert page.locator("#recon-state").count() == 0
    page.wait_for_selector("#recon-note:has-text('已登记')")  # the link alone had started it
    page.click("#recon-confirm")
    page.wait_for_selector("#recon-state:has-text('待发送')")
    page.click("#recon-close")
    page.wait_for_selector(f"#exams-table tr:has-text('{accession}'):has-text('检查中'):has-text('待发送')")

    link = send_and_wait_for_results(svc, accession)
    page.click("#exams-search")
    page.wait_for_selector(f"#exams-table tr:has-text('{accession}'):has-text('检查完成'):has-text('重建完成')")
    screenshot(page, "recon_completed_row")

    page.goto(f"{server.base}/panels/viewer/{accession}")
    loaded = wait_viewer_pair(page)
    assert link["results"][0]["uid"] in loaded[0]
    assert link["source_series_uid"] in loaded[1]
    screenshot(page, "recon_viewer_pair")
