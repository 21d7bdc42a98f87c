"""The WSGI app of one web process at scale, loaded by gunicorn's gevent worker (`python -m backend web`).

Beside the app it starts the process's housekeeping (`ProcessLife`: read-audit flushes, heartbeat,
revocations) and registers its stop, which the worker runs as soon as it is told to stop (SIGTERM,
SIGINT, SIGQUIT) and again, harmlessly, at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Callable

from flask import Flask

from backend.app import create_app
from backend.config import Settings, ensure_secret, load_settings
from backend.domain import health as rules
from backend.entrypoints.heap import freeze_startup_heap
from backend.entrypoints.process import ProcessLife
from backend.realtime import async_mode
from backend.services.health import Report

logger = logging.getLogger(__name__)
_stop_hooks: list[Callable[[], None]] = []


def run_stop_hooks() -> None:
    """Run every registered stop (each is idempotent); called by the worker on a stop signal and at exit."""
    for hook in list(_stop_hooks):
        try:
            hook()
        except Exception:
            logger.exception("stop hook failed")


def make_app(settings: Settings | None = None) -> Flask:
    settings = settings or ensure_secret(load_settings(os.environ))
    app = create_app(settings)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)  # type: ignore[method-assign]
    life = ProcessLife(app.extensions["radops"], _web_report).start()
    _stop_hooks.append(life.stop)
    atexit.register(life.stop)
    logger.info("web process %s serving: %s", life.instance, serving_mode())
    freeze_startup_heap()
    return app


def serving_mode() -> str:
    """Socket.IO's async mode and psycopg's wait function: `gevent` and a cooperative wait (not `wait_c`,
    which would block every greenlet of the process while one query runs) in the gevent worker."""
    waits = sys.modules.get("psycopg.waiting")
    wait = getattr(getattr(waits, "wait", None), "__name__", "-")
    return f"async_mode={async_mode()} psycopg_wait={wait}"


def _web_report() -> list[Report]:
    return [Report("web", rules.Kind.WEB, rules.State.OK, detail=f"pid {os.getpid()}")]
