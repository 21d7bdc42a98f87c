"""Killing the uploader at random moments (HC-5, issue 12 "Bad input and faults"): a worker process runs
the cloud's jobs (two parallel upload workers, a bandwidth limit) and is killed with SIGKILL at a random
moment, KILLS times over; a last run finishes. Every file ends on the cloud byte for byte, each byte of it
stored once, one upload per idempotency key, and the ledger counts each file once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import CloudLedgerFile, CloudLedgerStudy, Outbox
from backend.domain.actor import SYSTEM
from backend.domain.health_cloud import CloudFileStatus, CloudStatus
from backend.domain.outbox import OutboxState
from backend.services import settings_store
from backend.services.base import transaction
from backend.services.health_cloud.ledger import KIND_FILE
from backend.services.imaging import received
from integrations.health_cloud.emulator import HealthCloudEmulator
from tests.cloud_ledger_helpers import APP, SECRET, put_study
from tests.fakes import fake_ports
from tests.processes import ROOT

KILLS = 20


def _worker(db_url: str, var_dir: Path, cloud_url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.cloud_kill_worker", db_url, str(var_dir), cloud_url, mode],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def test_killing_the_uploader_at_random_moments_uploads_every_file_exactly_once(fresh_db_url: str,
                                                                                 tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    svc = build_services(Settings(database_url=fresh_db_url, var_dir=var_dir, testing=True, start_scheduler=False,
                                  dicom_study_quiet_s=0), ports=fake_ports())
    settings_store.put(svc, "health_cloud.parallel", 2, by=SYSTEM)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    blobs: dict[str, dict[str, bytes]] = {}
    for n in range(3):
        uid, files = put_study(svc, slices=6, size=380, study_date=today, patient_id=f"K{n}")  # ~290 KB each
        blobs[uid] = files
    time.sleep(0.01)
    received.mark_received(svc)
    emulator = HealthCloudEmulator(apps={APP: SECRET}).start()
    rnd = random.Random(20261201)
    try:
        for _ in range(KILLS):
            proc = _worker(fresh_db_url, var_dir, emulator.url, "loop")
            try:
                assert proc.stdout is not None
                assert proc.stdout.readline().strip() == "ready"
                # Kill while uploads run (once a chunk of this run arrived), at a random moment after that.
                seen = len(emulator.state.chunk_log)
                for _ in range(150):  # bounded: 3 s; after the last file nothing arrives and the kill comes
                    if len(emulator.state.chunk_log) > seen or proc.poll() is not None:
                        break
                    time.sleep(0.02)
                time.sleep(rnd.uniform(0.0, 0.4))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                if proc.stdout is not None:
                    proc.stdout.close()
        time.sleep(1.1)  # the killed worker's leases run out
        last = _worker(fresh_db_url, var_dir, emulator.url, "finish")
        try:
            assert last.wait(timeout=300) == 0
        finally:
            if last.poll() is None:
                last.kill()
                last.wait(timeout=30)
            if last.stdout is not None:
                last.stdout.close()
        chunk_log = list(emulator.state.chunk_log)
        uploads = list(emulator.state.uploads.values())
        stored = {(uid, sop): emulator.stored_file(uid, sop) for uid, files in blobs.items() for sop in files}
    finally:
        emulator.stop()

    for uid, files in blobs.items():
        for sop, data in files.items():
            assert stored[(uid, sop)] == data
    assert len(uploads) == sum(len(f) for f in blobs.values())  # one upload per idempotency key
    written = Counter[str]()
    for upload_id, _offset, length, what in chunk_log:
        if what == "stored":
            written[upload_id] += length
    assert {u.upload_id: written[u.upload_id] for u in uploads} == {u.upload_id: u.size for u in uploads}
    with transaction(svc, readonly=True) as tx:
        studies = [(s.status, s.files_done, s.files_total) for s in tx.session.scalars(select(CloudLedgerStudy))]
        files_ = [f.status for f in tx.session.scalars(select(CloudLedgerFile))]
        outbox_states = Counter(tx.session.scalars(select(Outbox.state).where(Outbox.kind == KIND_FILE)))
        attempts = sum(tx.session.scalars(select(Outbox.attempts).where(Outbox.kind == KIND_FILE)))
    assert studies == [(CloudStatus.UPLOADED.value, 6, 6)] * 3
    assert files_ == [CloudFileStatus.UPLOADED.value] * 18
    assert set(outbox_states) == {OutboxState.DONE.value}
    assert sum(outbox_states.values()) == 18
    assert attempts > 18  # the kills did land inside uploads: some files were taken over after a dead worker
