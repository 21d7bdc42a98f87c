"""Contract tests: the running app over real HTTP on loopback, checked against its own OpenAPI."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.session import make_engine, make_session_factory
from backend.domain.actor import SYSTEM
from backend.realtime import SocketIONotifier, socketio
from backend.services import auth
from tests.conftest import FIXED_NOW, ROOT, FakeClock, fresh_database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """The whole app on 127.0.0.1:<port> with its own database (SQLite, or PostgreSQL in CI's second pass)."""

    def __init__(self, url: str, tmp: Path) -> None:
        from backend.app import create_app
        from integrations.health_cloud.emulator import HealthCloudEmulator

        self.port = _free_port()
        # The health cloud's endpoints that reach the cloud (import, reconcile) talk to its emulator.
        self.cloud = HealthCloudEmulator(apps={Settings.health_cloud_app_id: Settings().health_cloud_secret}).start()
        settings = Settings(database_url=url, secret_key="contract-test", testing=True, var_dir=tmp / "var",
                            start_scheduler=False, port=self.port, layouts_dir=ROOT / "layouts",
                            health_cloud_url=self.cloud.url)
        self.engine = make_engine(url)
        self.services = build_services(settings, clock=FakeClock(FIXED_NOW), notifier=SocketIONotifier(socketio),
                                       session_factory=make_session_factory(self.engine))
        self.app = create_app(settings, services=self.services)
        self.api_key = auth.create_api_key(self.services, "contract", ["all"], by=SYSTEM)
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.engine.dispose()
        self.cloud.stop()


@pytest.fixture(scope="module")
def api_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("contract")
    with fresh_database(db_url, tmp) as url:
        server = ApiServer(url, tmp)
        yield server
        server.stop()


@pytest.fixture(scope="module")
def spec(api_server: ApiServer) -> dict[str, Any]:
    import httpx

    return httpx.get(f"{api_server.base}/api/openapi.json", timeout=10).json()
