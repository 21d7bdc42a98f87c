"""Killing the DICOM process during a transfer loses no acknowledged instance (issue 10, "Bad input"): the
real listeners process receives from dcmtk's storescu, is killed with SIGKILL mid-series, and after the
restart (whose start-up check repairs the archive) every instance storescu saw acknowledged is archived
whole, and every index row has its file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from backend.bootstrap import build_services
from backend.domain.actor import SYSTEM
from backend.services.imaging import archive, index, nodes
from tests.imaging_helpers import ct_slice, file_bytes
from tests.processes import PYTHON, ROOT, free_port, radops_env

pytestmark = pytest.mark.skipif(shutil.which("storescu") is None, reason="dcmtk storescu is not installed")


def _wait(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def _listeners(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([PYTHON, "-m", "backend", "listeners"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_no_acknowledged_instance_is_lost_when_the_process_is_killed(settings: Any, fresh_db_url: str,
                                                                     tmp_path: Path) -> None:
    svc = build_services(settings.with_(database_url=fresh_db_url, var_dir=tmp_path / "var"))
    nodes.save_node(svc, {"ae_title": "CT01", "host": "127.0.0.1", "port": 1, "rights": ["store"]}, by=SYSTEM)
    dicom_port = free_port()
    env = radops_env(fresh_db_url, tmp_path / "var", RADOPS_DICOM_PORT=str(dicom_port),
                     RADOPS_RECON_PORT=str(free_port()), RADOPS_RECON_DESTINATION_PORT=str(dicom_port),
                     RADOPS_SCHEDULER="0")
    first = ct_slice(size=512)
    series = [first] + [ct_slice(size=512, study_uid=first.StudyInstanceUID, series_uid=first.SeriesInstanceUID,
                                 number=i + 2, fill=i) for i in range(59)]
    files = []
    for i, ds in enumerate(series):
        path = tmp_path / f"{i:03d}.dcm"
        path.write_bytes(file_bytes(ds))
        files.append(path)
    log = tmp_path / "listeners.log"
    proc = _listeners(env, log)
    try:
        _wait(dicom_port)
        sender = subprocess.Popen(["storescu", "-v", "-aet", "CT01", "-aec", "RADOPS", "127.0.0.1", str(dicom_port),
                                   *map(str, files)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env={**os.environ, "TCP_NODELAY": "1"})
        acknowledged = 0
        assert sender.stdout is not None
        for line in sender.stdout:
            if "Received Store Response (Success)" in line:
                acknowledged += 1
                if acknowledged == 8:
                    proc.send_signal(signal.SIGKILL)  # mid-series, while the next instance is on its way
                    break
        proc.wait(10)
        rest = sender.communicate(timeout=60)[0]
        acknowledged += rest.count("Received Store Response (Success)")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert 8 <= acknowledged < len(files)
    proc = _listeners(env, log)  # the restart repairs the archive before it listens
    try:
        _wait(dicom_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)  # a loaded machine: the stop writes heartbeats and audit rows first
    svc.settings = svc.settings.with_(var_dir=tmp_path / "var")
    for ds in series[:acknowledged]:
        stored = archive.read_instance(svc, ds.SOPInstanceUID)
        assert stored.endswith(bytes(ds.PixelData))
    rows = index.instances_of(svc, study_uid=first.StudyInstanceUID)
    store = archive.image_store(svc)
    assert all(store.exists(r.path) for r in rows)
    assert list(store.staged()) == []
    assert len(rows) >= acknowledged
