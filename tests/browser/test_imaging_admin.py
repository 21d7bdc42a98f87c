"""The known DICOM nodes admin page and the unmatched-studies page in a real browser (issue 10 items 2, 3)."""

from __future__ import annotations

from backend.domain.actor import SYSTEM
from backend.services.imaging import archive, index, nodes
from tests.browser.conftest import login, screenshot
from tests.helpers import register
from tests.imaging_helpers import ct_slice, file_bytes, header


def _field(prefix: str, key: str) -> str:
    return f'[id=\'{{"key":"{key}","type":"{prefix}-field"}}\']'


def test_admin_adds_a_dicom_node_with_its_rights(page, live_server):
    login(page, live_server, "admin", next_path="/admin/dicom-nodes")
    page.wait_for_selector("#dicom-nodes-rows")
    page.fill(_field("dicom-nodes", "ae_title"), "CT02")
    page.fill(_field("dicom-nodes", "host"), "10.1.2.3")
    page.fill(_field("dicom-nodes", "port"), "104")
    page.fill(_field("dicom-nodes", "description"), "2号CT机")
    page.get_by_label("发送图像").check()
    page.get_by_label("工作列表").check()
    page.click("#dicom-nodes-save")
    page.wait_for_selector("#dicom-nodes-ok")
    assert "CT02" in page.inner_text("#dicom-nodes-rows")
    screenshot(page, "admin-dicom-nodes")
    node = nodes.all_nodes(live_server.services)[0]
    assert (node.ae_title, node.host, node.port) == ("CT02", "10.1.2.3", 104)
    assert {r.value for r in node.rights} == {"store", "worklist"}


def test_staff_match_an_unmatched_study_by_hand(page, live_server):
    svc = live_server.services
    made = register(svc, SYSTEM, "CT-CHEST", patient_class="emergency")
    ds = ct_slice(accession="OUTSIDE-1", patient_id="EXT-77")
    archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")
    login(page, live_server, "clerk", next_path="/panels/imaging/unmatched")
    page.wait_for_selector("#unmatched-table")
    assert "EXT-77" in page.inner_text("#unmatched-table")
    screenshot(page, "imaging-unmatched")
    page.select_option("#unmatched-pick", index=1)
    page.fill("#unmatched-accession", made["accession"])
    page.click("#unmatched-match")
    page.wait_for_selector("#unmatched-ok")
    assert "EXT-77" not in page.inner_text("#unmatched-list")
    assert index.get_study(svc, ds.StudyInstanceUID).exam_id == made["exam_id"]
