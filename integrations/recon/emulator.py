"""A loopback stand-in for the reconstruction system (AE title RECON): it receives a CT series by C-STORE,
and when the sender releases the association it finds the nodules, resamples a small field of view around
each and sends every result series back to the destination node in one association, then releases it.

Fault switches (ReconConfig.fault): "slow" waits `delay_s` before answering; "refuse" rejects associations
(transient, local limit exceeded); "refuse_store" answers every C-STORE with 0xA700; "partial" sends only
the first half of the result series and then aborts; "nothing" accepts and never answers."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from pydicom import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from backend.dicom.transport import nodelay
from integrations.recon.reconstruction import GeometryError, TargetGrid, Volume, find_nodules, resample
from integrations.recon.results import derived_series

logger = logging.getLogger(__name__)
Fault = Literal["none", "slow", "refuse", "refuse_store", "partial", "nothing"]
FAULTS: tuple[Fault, ...] = ("none", "slow", "refuse", "refuse_store", "partial", "nothing")
OUT_OF_RESOURCES, CANNOT_UNDERSTAND = 0xA700, 0xC210


@dataclass(frozen=True)
class ReconConfig:
    """Where the emulator listens, where it sends its results, and how it misbehaves."""

    ae_title: str = "RECON"
    host: str = "127.0.0.1"
    port: int = 11113
    destination_ae: str = "RADOPS"
    destination_host: str = "127.0.0.1"
    destination_port: int = 11112
    fault: Fault = "none"
    delay_s: float = 0.0
    grid: TargetGrid = field(default_factory=TargetGrid)


@dataclass
class Job:
    """One received association's work, kept for tests and logs: what came, what was found, what was sent."""

    source_series: list[str]
    received: int
    found: int = 0
    sent_series: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    # pending, delaying (slow), then: sent, partial, nothing, no_nodules, rejected_input, send_failed, stopped
    outcome: str = "pending"
    reconstruct_s: float = 0.0  # reading the volume, finding the nodules, resampling
    send_s: float = 0.0  # the results' association, from request to release


class _BusyAE(AE):
    """An AE that is always at its association limit: every request is rejected as transient."""

    @property
    def maximum_associations(self) -> int:
        return 0

    @maximum_associations.setter
    def maximum_associations(self, value: int) -> None:
        return None


class RECONEmulator:
    """Start with `start()`, stop with `stop()`; `port` is the bound port (config port 0: a free one)."""

    def __init__(self, config: ReconConfig) -> None:
        if config.fault not in FAULTS:
            raise ValueError(f"unknown fault {config.fault!r}")
        self.config = config
        self.jobs: list[Job] = []
        self._pending: dict[int, list[Dataset]] = defaultdict(list)
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadedAssociationServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def start(self) -> RECONEmulator:
        ae = (_BusyAE if self.config.fault == "refuse" else AE)(ae_title=self.config.ae_title)
        ae.add_supported_context(CTImageStorage, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        handlers = [(evt.EVT_CONN_OPEN, nodelay), (evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_RELEASED, self._on_released), (evt.EVT_ABORTED, self._on_aborted)]
        self._server = ae.start_server((self.config.host, self.config.port), block=False,
                                       evt_handlers=handlers)  # type: ignore[arg-type]
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:  # a job stops between its steps once stopping is set: nothing outlives stop()
            worker.join(timeout=60)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every received request has become a job and every job has finished (for tests and
        benches); False on time-out."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending, busy = bool(self._pending), [w for w in self._workers if w.is_alive()]
            if not pending and not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            if busy:
                busy[0].join(timeout=min(0.5, max(deadline - time.monotonic(), 0.0)))
            else:
                time.sleep(0.05)

    # -- handlers (pynetdicom's threads: keep them short) ---------------------------------------
    def _on_store(self, event: Any) -> int:
        if self.config.fault == "refuse_store":
            return OUT_OF_RESOURCES
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
        except Exception:
            logger.exception("RECON could not decode an instance")
            return CANNOT_UNDERSTAND
        with self._lock:
            self._pending[id(event.assoc)].append(ds)
        return 0x0000

    def _on_aborted(self, event: Any) -> None:
        with self._lock:
            self._pending.pop(id(event.assoc), None)

    def _on_released(self, event: Any) -> None:
        # One step under the lock (received -> job -> started worker), so wait_idle never sees it half-way.
        with self._lock:
            received = self._pending.pop(id(event.assoc), [])
            if not received:
                return
            job = Job(sorted({str(d.SeriesInstanceUID) for d in received}), len(received))
            self.jobs.append(job)
            worker = threading.Thread(target=self._run, args=(job, received), name="recon-job", daemon=True)
            worker.start()
            self._workers.append(worker)

    # -- the job ---------------------------------------------------------------------------------
    def _run(self, job: Job, received: list[Dataset]) -> None:
        try:
            started = time.perf_counter()
            results = self._reconstruct(job, received)
            job.reconstruct_s = round(time.perf_counter() - started, 2)
            if self.config.fault == "nothing":
                job.outcome = "nothing"
                return
            if self.config.fault == "slow":
                job.outcome = "delaying"
                if self._stopping.wait(self.config.delay_s):
                    job.outcome = "stopped"
                    return
            if results:
                started = time.perf_counter()
                self._send(job, results)
                job.send_s = round(time.perf_counter() - started, 2)
            elif job.outcome in ("pending", "delaying"):
                job.outcome = "no_nodules"
            logger.info("RECON job: %d source images, %d nodules found in %.1f s, results sent in %.1f s: %s",
                        job.received, job.found, job.reconstruct_s, job.send_s, job.outcome)
        except Exception:
            logger.exception("RECON job failed")
            job.outcome = "send_failed"

    def _reconstruct(self, job: Job, received: list[Dataset]) -> list[list[Dataset]]:
        by_series: dict[str, list[Dataset]] = defaultdict(list)
        for ds in received:
            by_series[str(ds.SeriesInstanceUID)].append(ds)
        results: list[list[Dataset]] = []
        grid, at = self.config.grid, datetime.now(UTC)
        for series_uid, instances in by_series.items():
            try:
                vol = Volume.from_datasets(instances)
            except (GeometryError, AttributeError, ValueError) as exc:
                logger.warning("RECON ignores series %s: %s", series_uid, exc)
                job.outcome = "rejected_input"
                continue
            findings = find_nodules(vol)
            job.found += len(findings)
            if self.config.fault == "nothing":
                continue  # it found them and will never answer: no result series to compute
            for n, finding in enumerate(findings, start=1):
                if self._stopping.is_set():
                    break
                hu = resample(vol, np.array(finding.center), grid)
                results.append(derived_series(vol, finding, n, grid, hu, at=at))
        return results

    def _send(self, job: Job, results: list[list[Dataset]]) -> None:
        """All result series in one association, released at the end: that release means complete."""
        partial = self.config.fault == "partial"
        if partial:
            results = results[: max(1, len(results) // 2)]
        cfg = self.config
        ae = AE(ae_title=cfg.ae_title)
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate(cfg.destination_host, cfg.destination_port, ae_title=cfg.destination_ae,
                             evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
        if not assoc.is_established:
            job.outcome = "send_failed"
            logger.warning("RECON could not reach %s", cfg.destination_ae)
            return
        for series in results:
            for ds in series:
                status = assoc.send_c_store(ds)
                job.statuses.append(int(getattr(status, "Status", 0xFFFF)))
            job.sent_series.append(str(series[0].SeriesInstanceUID))
        if partial:
            assoc.abort()
            job.outcome = "partial"
        else:
            assoc.release()
            job.outcome = "sent"
