"""A worker process of the kill test (tests/integration/test_health_cloud_kill.py): runs the cloud's jobs
against a database and an emulator until killed, or with `finish` until every study is uploaded.

    python -m tests.cloud_kill_worker <database_url> <var_dir> <cloud_url> loop|finish
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import CloudLedgerStudy
from backend.domain.health_cloud import CloudStatus
from backend.domain.outbox import RetryPolicy
from backend.services.base import transaction
from backend.services.health_cloud import ledger, upload
from tests.cloud_ledger_helpers import cloud_client
from tests.fakes import fake_ports

LEASE = timedelta(seconds=1)
# Every kill costs the rows it held one attempt: enough attempts that kills alone never bury a row.
POLICY = RetryPolicy(max_attempts=500, first_delay=timedelta(milliseconds=200), max_delay=timedelta(seconds=1))


def main(db_url: str, var_dir: str, cloud_url: str, mode: str) -> int:
    client = cloud_client(cloud_url, bandwidth=2_000_000)
    svc = build_services(Settings(database_url=db_url, var_dir=Path(var_dir), testing=True, start_scheduler=False),
                         ports=replace(fake_ports(), health_cloud=client))
    print("ready", flush=True)
    for _ in range(3000):  # bounded: about five minutes at most
        ledger.find_candidates(svc)
        upload.register_studies(svc, lease=LEASE, policy_=POLICY)
        upload.upload_files(svc, lease=LEASE, policy_=POLICY, max_items=20)
        if mode == "finish":
            with transaction(svc, readonly=True) as tx:
                left = tx.session.scalars(select(CloudLedgerStudy.id).where(
                    CloudLedgerStudy.status != CloudStatus.UPLOADED.value)).first()
            if left is None:
                return 0
        time.sleep(0.1)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
