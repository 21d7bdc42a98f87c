"""The web viewer (issue 10 item 6) in Chromium: a small synthetic chest CT (20 slices of 128 x 128, JPEG-LS,
and its prior a year earlier) stored through the archive; open, scroll by wheel, keys and slider, window
presets and drag, zoom and pan, a length in mm, two series with linked scrolling, the DICOM header;
refused to a role without image.read; audited."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from typing import Any

import pytest
from pydicom import Dataset
from sqlalchemy import select

from backend.db.models import AuditEntry
from backend.dicom.synthetic import UID_ROOT, example_patients
from backend.dicom.synthetic.ct import CtStudy, chest_ct_studies
from backend.dicom.synthetic.phantom import ChestPhantom, Geometry
from backend.services import audit
from backend.services.base import transaction
from backend.services.imaging import archive
from tests.browser.conftest import login, screenshot
from tests.imaging_helpers import header

pytestmark = pytest.mark.browser
SLICES = 20
MATRIX = 128


@cache
def _studies() -> tuple[str, tuple[tuple[Dataset, ...], ...]]:
    patient = example_patients(1)[0]
    phantom = ChestPhantom(3, patient.key.patient_id)
    z = max(phantom.current, key=lambda n: n.long_mm).center[2]
    top = z + SLICES * 1.25 / 2
    specs = [CtStudy(patient.key, patient.study, "current"), CtStudy(patient.key, patient.prior_study(), "prior")]
    made = chest_ct_studies(phantom, specs, uid_root=UID_ROOT, geometry=Geometry(matrix=MATRIX),
                            z_range=(top, top - (SLICES - 0.5) * 1.25))
    return patient.study.accession, tuple(tuple(s) for s in made)


def _store(server: Any) -> str:
    accession, studies = _studies()
    for instances in studies:
        for ds in instances:
            buf = BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            archive.store_instance(server.services, header(ds), buf.getvalue(), received_from="CT01")
    return accession


def _pane(page: Any, i: int, attr: str) -> str:
    return str(page.get_attribute(f"#viewer-pane-{i}", attr) or "")


def _wait_loaded(page: Any, i: int = 0) -> None:
    page.wait_for_function(
        "i => { const p = document.getElementById('viewer-pane-' + i); const img = document.getElementById("
        "'viewer-image-' + i); return p && img && img.complete && img.naturalWidth > 0 && "
        "p.getAttribute('data-loaded') === img.getAttribute('src'); }", arg=i)


def test_the_viewer_scrolls_windows_measures_and_links(live_server: Any, page: Any) -> None:
    accession = _store(live_server)
    login(page, live_server, "doctor")
    page.goto(f"{live_server.base}/panels/viewer/{accession}")
    page.wait_for_selector("#viewer-image-0")
    _wait_loaded(page)
    thumbs = page.locator(".viewer-thumb")
    assert thumbs.count() == 4  # lung and mediastinum series of the current and the prior study
    page.wait_for_function("() => [...document.querySelectorAll('.viewer-thumb')].every(t => t.naturalWidth > 0)")
    assert _pane(page, 0, "data-index") == str(SLICES // 2)
    screenshot(page, "viewer_open")

    # Stack scroll: wheel, keys, slider.
    page.hover("#viewer-frame-0")
    page.mouse.wheel(0, 120)
    page.wait_for_function("() => document.getElementById('viewer-pane-0').dataset.index === '11'")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert _pane(page, 0, "data-index") == "13"
    page.keyboard.press("Home")
    assert _pane(page, 0, "data-index") == "0"
    page.fill("#viewer-slider-0", "7")
    assert _pane(page, 0, "data-index") == "7"
    _wait_loaded(page)

    # Window presets and drag.
    page.click("#viewer-preset-0")  # lung -600/1500
    assert _pane(page, 0, "data-window") == "-600,1500"
    _wait_loaded(page)
    assert "window=-600,1500" in (page.get_attribute("#viewer-image-0", "src") or "")
    screenshot(page, "viewer_lung_window")
    page.click("#viewer-preset-2")  # bone 400/1800
    _wait_loaded(page)
    box = page.locator("#viewer-frame-0").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 50, cy - 100, steps=5)
    page.mouse.up()
    centre, width = (float(v) for v in _pane(page, 0, "data-window").split(","))
    assert centre == pytest.approx(400 - 200, abs=1)
    assert width == pytest.approx(1800 - 200, abs=1)
    _wait_loaded(page)
    page.click("#viewer-preset-1")  # mediastinum 40/400
    _wait_loaded(page)

    # Length in mm from PixelSpacing: 360 mm field over 128 pixels.
    page.click("#viewer-mode-measure")
    rect = page.locator("#viewer-image-0").bounding_box()
    x1, y1 = rect["x"] + rect["width"] * 0.25, rect["y"] + rect["height"] * 0.5
    x2, y2 = rect["x"] + rect["width"] * 0.75, rect["y"] + rect["height"] * 0.5
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move(x2, y2, steps=4)
    page.mouse.up()
    assert float(_pane(page, 0, "data-measure-mm")) == pytest.approx(180.0, rel=0.02)  # half of 360 mm
    assert "mm" in page.inner_text("#viewer-measure-0")
    screenshot(page, "viewer_measure")

    # Zoom and pan.
    page.click("#viewer-zoom-in")
    page.click("#viewer-mode-pan")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 40, cy + 20, steps=3)
    page.mouse.up()
    style = page.get_attribute("#viewer-pane-0 .viewer-stage", "style") or ""
    assert "scale(1.25)" in style
    assert "translate(40px, 20px)" in style or "translate(40px,20px)" in style
    page.click("#viewer-reset")

    # The prior's lung series beside the current one; scrolling the left moves the right.
    prior_item = page.locator(".viewer-series-item").nth(2)
    prior_item.locator(".viewer-to-b").click()
    page.wait_for_selector("#viewer-pane-1", state="visible")
    _wait_loaded(page, 1)
    page.click("#viewer-mode-window")
    page.hover("#viewer-frame-0")
    page.fill("#viewer-slider-0", "0")
    page.dispatch_event("#viewer-slider-0", "input")
    page.hover("#viewer-frame-0")
    for _ in range(5):
        page.mouse.wheel(0, 120)
    page.wait_for_function("() => document.getElementById('viewer-pane-0').dataset.index === '5'")
    assert _pane(page, 1, "data-index") == "5"
    _wait_loaded(page, 0)
    _wait_loaded(page, 1)

    # The DICOM header of the shown image.
    page.click("#viewer-header-toggle")
    page.wait_for_selector("#viewer-header table")
    text = page.inner_text("#viewer-header")
    assert "PixelSpacing" in text
    assert "1.2.840.10008.1.2.4.80" in text  # JPEG-LS lossless, decoded on the server
    screenshot(page, "viewer_side_by_side")

    audit.flush_reads(live_server.services)
    with transaction(live_server.services, readonly=True) as tx:
        rows = [(r.entity, r.entity_id, r.actor) for r in tx.session.scalars(
            select(AuditEntry).where(AuditEntry.entity.in_(["image_viewer", "image_frame"])))]
    assert ("image_viewer", accession) in {(e, i) for e, i, _ in rows}
    assert sum(1 for e, _, _ in rows if e == "image_frame") >= 10


def test_a_role_without_image_read_is_refused(live_server: Any, page: Any) -> None:
    accession = _store(live_server)
    login(page, live_server, "clerk")
    page.goto(f"{live_server.base}/panels/viewer/{accession}")
    page.wait_for_selector("#shell-refusal")
    assert page.locator("#viewer-root").count() == 0
    _, studies = _studies()
    ds = studies[0][0]
    status = page.evaluate("u => fetch(u).then(r => r.status)", f"/dicomweb/studies/{ds.StudyInstanceUID}/series/"
                           f"{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}/rendered")
    assert status == 403
