"""The lung-nodule reconstruction flow in Chromium (LN-4..LN-8): the exam list's right-click 引用历史图像, the
dialog with the patient's prior and its series thumbnail, linking (the row turns 检查中 and shows 待发送), the
send to the RECON emulator over loopback DICOM and its results (检查完成, 重建完成), then the viewer opening
the reconstruction beside its source."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.domain.actor import SYSTEM
from backend.entrypoints.listeners.dicom_scp import start_dicom
from backend.services.imaging import archive, nodes, recon
from integrations.recon.emulator import ReconConfig, RECONEmulator
from tests.browser.conftest import LiveServer, login, screenshot
from tests.helpers import register
from tests.imaging_helpers import file_bytes, header
from tests.synthetic_helpers import slab

pytestmark = pytest.mark.browser
WAIT_S = 120.0


@pytest.fixture
def recon_server(tmp_path: Path, live_clock: Any) -> Iterator[tuple[LiveServer, RECONEmulator]]:
    server = LiveServer(tmp_path, clock=live_clock, dicom_port=0, dicom_timeout_s=20.0).start()
    handle, _line = start_dicom(server.services)
    emu = RECONEmulator(ReconConfig(port=0, destination_port=handle.port)).start()
    for ae, port in (("CT01", 11114), ("RECON", emu.port)):
        nodes.save_node(server.services, {"ae_title": ae, "host": "127.0.0.1", "port": port, "rights": ["store"]},
                        by=SYSTEM)
    yield server, emu
    emu.stop()
    handle.stop()
    server.stop()


def test_right_click_link_send_and_view_beside_the_source(recon_server: Any, page: Any) -> None:
    server, _emu = recon_server
    svc = server.services
    source, _nodules = slab()
    for ds in source:
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")
    accession = register(svc, SYSTEM, "CT-LN-TR", mrn=str(source[0].PatientID), name="靶重建")["accession"]

    login(page, server, "tech", next_path="/panels/exams")
    row = page.locator(f"#exams-table tr:has-text('{accession}')")
    row.wait_for()
    row.click(button="right")
    page.locator("#exams-menu .dropdown-item", has_text="引用历史图像").click()
    page.wait_for_selector(".recon-prior")
    page.wait_for_function("() => [...document.querySelectorAll('.recon-prior img')].every(i => i.naturalWidth > 0)")
    prior = page.locator(".recon-prior").first
    assert "胸部 CT" in prior.inner_text()
    assert f"{len(source)} 幅图像" in prior.inner_text()
    assert prior.locator("input[type=radio]:checked").count() == 1  # the default series is chosen
    page.wait_for_timeout(400)  # the dialog's fade-in, before the screenshot
    screenshot(page, "recon_priors_dialog")

    page.click("#recon-confirm")
    page.wait_for_selector("#recon-state:has-text('待发送')")
    page.wait_for_selector("#recon-confirm", state="hidden")
    screenshot(page, "recon_linked")
    page.click("#recon-undo")  # undo before sending: the link goes, the exam stays 检查中
    page.wait_for_selector("#recon-confirm", state="visible")
    assert page.locator("#recon-state").count() == 0
    page.click("#recon-confirm")
    page.wait_for_selector("#recon-state:has-text('待发送')")
    page.click("#recon-close")
    page.wait_for_selector(f"#exams-table tr:has-text('{accession}'):has-text('检查中'):has-text('待发送')")

    recon.send_pending(svc)
    deadline = time.monotonic() + WAIT_S
    while (link := recon.link_of(svc, accession)) is not None and link["state"] != "completed":
        assert time.monotonic() < deadline, link
        time.sleep(0.2)
    page.click("#exams-search")
    page.wait_for_selector(f"#exams-table tr:has-text('{accession}'):has-text('检查完成'):has-text('重建完成')")
    screenshot(page, "recon_completed_row")

    page.goto(f"{server.base}/panels/viewer/{accession}")
    page.wait_for_selector("#viewer-root[data-paired='1']")
    page.wait_for_function(
        "() => [0, 1].every(i => { const img = document.getElementById('viewer-image-' + i); "
        "return img && img.complete && img.naturalWidth > 0; })")
    assert link is not None
    loaded = [str(page.get_attribute(f"#viewer-pane-{i}", "data-loaded") or "") for i in (0, 1)]
    assert link["results"][0]["uid"] in loaded[0]
    assert link["source_series_uid"] in loaded[1]
    screenshot(page, "recon_viewer_pair")
