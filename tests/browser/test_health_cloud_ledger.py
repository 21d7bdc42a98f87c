"""The health cloud's ledger page in a real browser (issue 12 item 6): states, progress, the chart, a failed
study's reason and its retry button, the status filter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from backend.domain.actor import SYSTEM
from backend.domain.health_cloud import CloudStatus
from backend.services import settings_store
from backend.services.health_cloud import ledger, upload
from backend.services.imaging import archive
from integrations.health_cloud.emulator import HealthCloudEmulator
from tests.browser.conftest import LiveServer, login, screenshot
from tests.cloud_ledger_helpers import APP, SECRET, cloud_client, put_study, receive, run_jobs
from tests.conftest import FakeClock


@pytest.fixture
def cloud_server(tmp_path: Path, live_clock: FakeClock) -> Iterator[tuple[LiveServer, HealthCloudEmulator]]:
    emulator = HealthCloudEmulator(apps={APP: SECRET}, clock=live_clock).start()
    server = LiveServer(tmp_path, clock=live_clock, health_cloud_url=emulator.url)
    client = cloud_client(emulator.url, clock=emulator.now)
    server.services.ports = replace(server.services.ports, health_cloud=client)
    server.start()
    yield server, emulator
    server.stop()
    client.client.close()
    emulator.stop()


def test_admin_sees_the_ledger_and_retries_a_failed_study(page, cloud_server) -> None:
    server, _emulator = cloud_server
    svc, clock = server.services, server.clock
    settings_store.put(svc, "health_cloud.parallel", 1, by=SYSTEM)
    put_study(svc, slices=3, accession="HCOK0001")
    bad_uid, bad = put_study(svc, slices=2, accession="HCBAD001")
    receive(svc, clock)
    ledger.find_candidates(svc)
    upload.register_studies(svc)
    broken = next(iter(bad))
    path = archive.instance_path(svc, broken)
    assert path is not None
    path.write_bytes(b"broken")
    run_jobs(svc, clock)
    login(page, server, "admin", next_path="/admin/health-cloud")
    page.wait_for_selector("#hc-rows")
    rows = page.inner_text("#hc-rows")
    assert "HCOK0001" in rows
    assert "已上传" in rows
    assert "3/3 个文件" in rows
    assert "1 个文件无法上传" in rows
    page.wait_for_selector("#hc-chart")
    screenshot(page, "health-cloud-ledger")
    page.select_option("#hc-status", CloudStatus.FAILED.value)
    page.wait_for_function("!document.querySelector('#hc-rows').innerText.includes('HCOK0001')")
    path.write_bytes(bad[broken])  # repaired
    page.click(f"[id='{{\"index\":\"{bad_uid}\",\"type\":\"hc-retry\"}}']")
    page.wait_for_selector("#hc-msg")
    assert "已重新排队" in page.inner_text("#hc-msg")
    run_jobs(svc, clock)
    assert ledger.study_state(svc, bad_uid)["status"] == CloudStatus.UPLOADED.value
