"""A cadre-health upload worker for the kill test: `python -m tests.cadre_worker` builds the services from the
environment (RADOPS_* as in production, the real client and S3 store), says `ready`, then drains the cadre
outbox with a short lease until every ledger row is done (a bounded loop), and exits 0."""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.config import load_settings
from backend.db.models import CadreUpload
from backend.domain.cadre_health import CadreUploadState
from backend.domain.outbox import RetryPolicy
from backend.services.base import transaction
from backend.services.cadre_health import upload

# Every kill costs an attempt (its lease runs out): allow far more than the test makes.
POLICY = RetryPolicy(max_attempts=500, first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=1))


def unfinished(svc: object) -> int:
    with transaction(svc, readonly=True) as tx:  # type: ignore[arg-type]
        return int(tx.session.scalar(select(func.count()).select_from(CadreUpload).where(
            CadreUpload.state != CadreUploadState.DONE.value)) or 0)


def main() -> int:
    svc = build_services(load_settings(os.environ))
    lease = timedelta(seconds=float(os.environ.get("CADRE_TEST_LEASE_S", "1")))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for _ in range(3000):
        upload.send_due(svc, lease=lease, policy=POLICY)
        if not unfinished(svc):
            return 0
        time.sleep(0.1)
    return 1


if __name__ == "__main__":
    sys.exit(main())
