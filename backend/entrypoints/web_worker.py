"""gunicorn's gevent worker, plus: the process's stop (read audits written, heartbeats withdrawn) runs the
moment the worker is told to stop, not after its connections drain.

A web process holds WebSocket connections that stay open until the browser goes away, so a stopping
worker waits out gunicorn's graceful timeout and is then killed by the master: anything left for the
worker's exit would be lost. The stop therefore runs in a greenlet spawned by the signal itself.
"""

from __future__ import annotations

from types import FrameType

import gevent
from gunicorn.workers.ggevent import GeventWorker


def _stop() -> None:
    # Imported here, never at module level: the master loads this class before forking, and the app's
    # modules (psycopg above all, which picks its wait function at import) must first be imported in the
    # worker, after gevent has patched the standard library.
    from backend.entrypoints.wsgi import run_stop_hooks

    run_stop_hooks()


class Worker(GeventWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """`-k backend.entrypoints.web_worker.Worker`: the gevent worker with an immediate stop."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # SIGTERM
        super().handle_exit(sig, frame)
        gevent.spawn(_stop)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:  # SIGINT, SIGQUIT: exits at once
        _stop()
        super().handle_quit(sig, frame)
