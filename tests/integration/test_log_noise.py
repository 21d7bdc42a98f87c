"""Issue 14.11: the logs of the embedded run stay readable. A WebSocket closing on the development server
logs no `Bad request syntax` line, and the scheduler's routine passes log nothing at INFO."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
import socketio

from tests.browser.conftest import LiveServer
from tests.conftest import FakeClock


def test_a_websocket_closing_logs_no_bad_request(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from backend import log_noise

    log_noise.install()
    server = LiveServer(tmp_path, clock=FakeClock()).start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for _ in range(6):
                client = socketio.Client(reconnection=False)
                client.connect(server.base, transports=["websocket"], wait_timeout=10)
                assert client.connected
                client.disconnect()
            time.sleep(1.5)  # the server reads what follows the closed WebSocket on the same connection
            assert httpx.get(f"{server.base}/api/health", timeout=10).status_code in (200, 503)
    finally:
        server.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/api/health" in line for line in lines)  # real requests are still logged
    assert not [line for line in lines if "Bad request" in line or "Bad HTTP" in line], lines


def test_the_scheduler_logs_nothing_at_info_for_routine_passes(svc, caplog: pytest.LogCaptureFixture) -> None:
    from backend.jobs import Job, build_scheduler

    runs: list[int] = []

    def job(_svc):
        runs.append(1)
        return len(runs)  # "done" something, as audit_reads does every 5 s when pages are read

    scheduler = build_scheduler(svc, (Job("probe", 1, job),))
    with caplog.at_level(logging.INFO):
        scheduler.start()
        try:
            deadline = time.monotonic() + 10
            while len(runs) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            scheduler.shutdown(wait=True)
    assert len(runs) >= 2
    noisy = [r.getMessage() for r in caplog.records
             if r.levelno == logging.INFO and (r.name.startswith("apscheduler") or r.name == "backend.jobs")]
    assert noisy == []
