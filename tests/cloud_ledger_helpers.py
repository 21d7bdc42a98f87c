"""Helpers of the health-cloud ledger tests: the signed client at an emulator, studies put in the archive
and marked received, and the jobs run until the queue is empty (bounded)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydicom import Dataset
from pydicom.uid import generate_uid

from backend.services.base import Services
from backend.services.health_cloud import ledger, upload
from backend.services.imaging import archive, received
from integrations.health_cloud.client import CloudCredentials, HttpHealthCloud, RetryPolicy
from tests.imaging_helpers import ROOT, ct_slice, file_bytes, header

APP, SECRET, HOSPITAL = "radops-demo", "demo-secret-change-me", "H33010001"
CHUNK = 64 * 1024


def cloud_client(url: str, *, clock: Callable[[], datetime] | None = None, attempts: int = 4,
                 bandwidth: int | None = None) -> HttpHealthCloud:
    http = httpx.Client(base_url=url, timeout=httpx.Timeout(10, connect=5))
    return HttpHealthCloud(http, CloudCredentials(APP, SECRET, HOSPITAL), chunk_size=CHUNK,
                           retry=RetryPolicy(attempts=attempts, backoff_s=0.01), clock=clock,
                           sleep=lambda _s: None, bandwidth=bandwidth)


def put_study(svc: Services, *, accession: str = "", slices: int = 3, size: int = 200, patient_id: str = "P1",
              study_date: str = "20261127", modality: str = "CT") -> tuple[str, dict[str, bytes]]:
    """A study of `slices` instances in two series, archived; returns its UID and the bytes by SOP UID."""
    study_uid = generate_uid(ROOT)
    accession = accession or f"X{study_uid[-10:]}"  # the cloud needs an accession number to register a study
    series = [generate_uid(ROOT), generate_uid(ROOT)]
    out: dict[str, bytes] = {}
    for n in range(slices):
        ds: Dataset = ct_slice(study_uid=study_uid, series_uid=series[n % 2], accession=accession,
                               patient_id=patient_id, study_date=study_date, number=n + 1, size=size, fill=n,
                               modality=modality)
        data = file_bytes(ds)
        archive.store_instance(svc, header(ds), data, received_from="CT01")
        out[str(ds.SOPInstanceUID)] = data
    return study_uid, out


def receive(svc: Services, clock: Any) -> None:
    """Let the studies fall quiet and mark them received (the archive's own job)."""
    clock.advance(seconds=svc.settings.dicom_study_quiet_s + 1)
    received.mark_received(svc)


def run_jobs(svc: Services, clock: Any, *, rounds: int = 20, step: timedelta = timedelta(hours=7)) -> int:
    """Candidates, registration and uploads until a round does nothing (at most `rounds`); between rounds
    the clock passes the outbox's back-off. Returns the rounds used."""
    for n in range(1, rounds + 1):
        did = [ledger.find_candidates(svc), upload.register_studies(svc), upload.upload_files(svc)]
        if not any(did):
            return n
        clock.advance(seconds=step.total_seconds())
    raise AssertionError("the cloud's queue did not settle")
