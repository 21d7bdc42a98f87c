"""What every long-running process does beside its work: heartbeats, read-audit flushes, revocations.

`ProcessLife.start()` writes a first heartbeat at once, then every few seconds flushes this process's
queued read-audit rows and re-writes its heartbeat rows; `stop()` (on SIGTERM, SIGINT or a clean exit,
called once however often it is asked) writes the last read rows and withdraws the heartbeats.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from backend.domain.health import BEAT_SECONDS
from backend.services import audit, auth, health
from backend.services.base import Services
from backend.services.health import Report

logger = logging.getLogger(__name__)


def attach_revocation_bus(svc: Services) -> None:
    """With REDIS_URL, this process hears every revocation (its own included) and forgets the credential."""
    from backend.bus import RedisBus

    bus = svc.ports.revocations
    if isinstance(bus, RedisBus):
        bus.subscribe(lambda kind, ident: auth.forget(svc, kind, ident))


class ProcessLife:
    """The housekeeping loop of one process (a daemon thread; a greenlet in the gevent web worker)."""

    def __init__(self, svc: Services, reports: Callable[[], Sequence[Report]]) -> None:
        self.svc = svc
        self.instance = health.this_instance()
        self._reports = reports
        self._stop = threading.Event()
        self._stopped = threading.Lock()
        self._done = False
        self._thread = threading.Thread(target=self._loop, name="process-life", daemon=True)

    def start(self) -> ProcessLife:
        attach_revocation_bus(self.svc)
        self._beat()
        self._thread.start()
        return self

    def _beat(self) -> None:
        try:
            health.beat(self.svc, self._reports(), instance=self.instance)
        except Exception:  # the database may be away for a moment: the next beat tries again
            logger.exception("heartbeat not written")

    def _flush(self) -> None:
        try:
            audit.flush_reads(self.svc)
        except Exception:  # flush_reads keeps the rows; the next round tries again
            logger.exception("audit read flush failed")

    def _loop(self) -> None:
        ticks_per_beat = max(1, round(BEAT_SECONDS / audit.READ_MAX_AGE_S))
        tick = 0
        while not self._stop.wait(audit.READ_MAX_AGE_S):
            self._flush()
            tick += 1
            if tick % ticks_per_beat == 0:
                self._beat()

    def stop(self) -> None:
        """Write the last read-audit rows and withdraw this process's heartbeats (once)."""
        with self._stopped:
            if self._done:
                return
            self._done = True
        self._stop.set()
        written = audit.flush_reads(self.svc)
        logger.info("stopping %s: %d queued read-audit rows written", self.instance, written)
        try:
            health.withdraw(self.svc, instance=self.instance)
        except Exception:
            logger.exception("heartbeats not withdrawn (they go stale on their own)")
        bus = self.svc.ports.revocations
        if bus is not None and hasattr(bus, "close"):
            bus.close()
