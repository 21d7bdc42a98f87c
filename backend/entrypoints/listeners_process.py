"""`python -m backend listeners`: every listener and emulator of `background.starters()` in one process.

Events go through Redis (REDIS_URL) like the scheduler's; each helper is reported in /api/health by this
process's heartbeat. A required listener that cannot start (its port taken) ends the command at once with
one Chinese line and exit status 1, after stopping what had started.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from backend.config import Settings

logger = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    from backend.bootstrap import build_services
    from backend.entrypoints.background import StartFailed, reports, start_all, stop_all
    from backend.entrypoints.process import ProcessLife
    from backend.ports import NullNotifier
    from backend.realtime import external_notifier

    notifier = external_notifier(settings.redis_url) if settings.redis_url else NullNotifier()
    if not settings.redis_url:
        logger.warning("REDIS_URL is not set: orders received here will not reach Socket.IO clients")
    svc = build_services(settings, notifier=notifier)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        started = start_all(svc)
    except StartFailed as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    life = ProcessLife(svc, lambda: reports(started)).start()
    for item in started:
        sys.stdout.write(f"  {item.name:<14} {item.line}\n")
    sys.stdout.flush()
    logger.info("listeners %s running: %s", life.instance, ", ".join(s.name for s in started))
    stop.wait()
    stop_all(started)
    life.stop()
    return 0
