"""The scheduler as its own process (at scale): jobs claim rows with leases; events go through Redis."""

from __future__ import annotations

import logging
import signal
import threading

from backend.config import Settings

logger = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    from backend.bootstrap import build_services
    from backend.jobs import build_scheduler
    from backend.ports import NullNotifier
    from backend.realtime import external_notifier

    notifier = external_notifier(settings.redis_url) if settings.redis_url else NullNotifier()
    if not settings.redis_url:
        logger.warning("REDIS_URL is not set: scheduled jobs will not reach Socket.IO clients")
    svc = build_services(settings, notifier=notifier)
    scheduler = build_scheduler(svc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.start()
    logger.info("scheduler running with %d jobs", len(scheduler.get_jobs()))
    stop.wait()
    scheduler.shutdown(wait=True)
    return 0
