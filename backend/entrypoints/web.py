"""`python -m backend web`: one web process (APIs, pages, Socket.IO) served by gunicorn's gevent worker.

Flask-SocketIO's deployment guide for many long-lived connections: gunicorn with one gevent worker per
process, `-w 1` (several processes behind a proxy, joined by the Redis message queue). Each WebSocket is
a greenlet, not a thread, so a process holds thousands of screens while HTTP stays fast; psycopg 3 sees
gevent's patched `select` and waits cooperatively. The same as a gunicorn command line:

    gunicorn -k backend.entrypoints.web_worker.Worker -w 1 --worker-connections 5000 --graceful-timeout 10 \\
        --control-socket var/run/gunicorn-8001.ctl -b 127.0.0.1:8001 'backend.entrypoints.wsgi:make_app()'
"""

from __future__ import annotations

import logging
import resource
from typing import Any

from gunicorn.app.base import BaseApplication

from backend.config import Settings

logger = logging.getLogger(__name__)
# Open connections one process accepts (screens, kiosks, staff pages, plus HTTP requests in flight).
WORKER_CONNECTIONS = 5000


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings of one web process; the control socket is per port (one per instance)."""
    run_dir = settings.var_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "worker_class": "backend.entrypoints.web_worker.Worker",
        "worker_connections": WORKER_CONNECTIONS,
        "graceful_timeout": 10,
        "timeout": 60,
        "keepalive": 5,
        "control_socket": str(run_dir / f"gunicorn-{settings.port}.ctl"),
        "proc_name": f"radops-web-{settings.port}",
        "errorlog": "-",
    }


class WebServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # In the worker, after gevent patched the standard library: only now import the app.
        from backend.entrypoints.wsgi import make_app

        return make_app(self.settings)


def raise_open_files_limit(wanted: int = 2 * WORKER_CONNECTIONS + 1024) -> int:
    """Each connection is a file descriptor: lift the soft limit toward the hard one; returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return int(soft)


def run(settings: Settings) -> int:
    limit = raise_open_files_limit()
    logger.info("web process on %s:%s (gevent worker, %d connections, open files %d)", settings.host,
                settings.port, WORKER_CONNECTIONS, limit)
    WebServer(settings).run()
    return 0
