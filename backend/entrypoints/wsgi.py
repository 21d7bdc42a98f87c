"""WSGI factory for gunicorn at scale: `gunicorn -w 1 --threads 100 'backend.entrypoints.wsgi:make_app()'`."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import Flask

from backend.app import create_app
from backend.config import ensure_secret, load_settings
from backend.entrypoints.heap import freeze_startup_heap
from backend.services import audit
from backend.services.base import Services

logger = logging.getLogger(__name__)


def _flush_reads_forever(svc: Services) -> None:
    while True:
        time.sleep(audit.READ_MAX_AGE_S)
        try:
            audit.flush_reads(svc)
        except Exception:  # flush_reads keeps the rows; the next round tries again
            logger.exception("audit read flush failed")


def make_app() -> Flask:
    app = create_app(ensure_secret(load_settings(os.environ)))
    # A worker's queued read-audit rows are written every few seconds and when it stops (the scheduler
    # process flushes only its own queue).
    svc = app.extensions["radops"]
    threading.Thread(target=_flush_reads_forever, args=(svc,), name="audit-reads", daemon=True).start()
    atexit.register(audit.flush_reads, svc)
    freeze_startup_heap()
    return app
