"""The scheduler as its own process (at scale): runs every job of `backend/jobs.py`; events go through Redis."""

from __future__ import annotations

import logging
import signal
import threading

from backend.config import Settings

logger = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    from backend.bootstrap import build_services
    from backend.entrypoints.process import ProcessLife
    from backend.jobs import build_scheduler
    from backend.ports import NullNotifier
    from backend.realtime import external_notifier
    from backend.services import health

    notifier = external_notifier(settings.redis_url) if settings.redis_url else NullNotifier()
    if not settings.redis_url:
        logger.warning("REDIS_URL is not set: scheduled jobs will not reach Socket.IO clients")
    svc = build_services(settings, notifier=notifier)
    scheduler = build_scheduler(svc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    life = ProcessLife(svc, list).start()
    scheduler.start()
    health.scheduler_beat(svc)  # the heartbeat job's first run, now rather than one period later
    logger.info("scheduler %s running with %d jobs", life.instance, len(scheduler.get_jobs()))
    stop.wait()
    scheduler.shutdown(wait=True)
    life.stop()
    return 0
