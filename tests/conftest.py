"""Shared fixtures: a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL), a rolled-back
transaction per test, a controllable clock, the services, the Flask app and signed-in clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.migrate import upgrade
from backend.db.session import make_engine
from backend.domain.actor import Actor
from backend.ports import Ports
from backend.seed import DEMO_LOGINS
from backend.services import auth
from backend.services.base import Services
from tests.fakes import FakeNotifier, fake_ports

# 09:00 in Shanghai on a Friday: a working morning for every test unless a test moves the clock.
FIXED_NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
PASSWORDS = {u: p for u, p, _ in DEMO_LOGINS}
ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime = FIXED_NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> datetime:
        self.at += timedelta(**kw)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare_database(url: str, *, now: datetime = FIXED_NOW) -> None:
    """Migrate an empty database and write the demo hospital's reference data into it."""
    from backend.seed.reference import seed_reference

    upgrade(url)
    seed_reference(Settings(database_url=url), seed=1, now=now)


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    prepare_database(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@contextmanager
def fresh_database(db_url: str, tmp_dir: Path) -> Iterator[str]:
    """A new database with the reference data (a file on SQLite, a new database on PostgreSQL)."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_dir / f'f{uuid.uuid4().hex[:8]}.db'}"
        prepare_database(url)
        yield url
        return
    name = f"radops_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = db_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        prepare_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_db_url(tmp_path: Path, db_url: str) -> Iterator[str]:
    """A separate, committed database for tests that need real concurrent connections."""
    with fresh_database(db_url, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def ports() -> Ports:
    """Fakes of every partner (tests/fakes.py); `ports.insurance.add(...)` sets up an answer."""
    return fake_ports()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, secret_key="test-secret", testing=True, var_dir=tmp_path / "var",
                    start_scheduler=False, layouts_dir=ROOT / "layouts")


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Any]]:
    """Sessions joined to one outer transaction that is rolled back after the test (Warehouse)."""
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield factory
    outer.rollback()
    conn.close()


@pytest.fixture
def svc(settings: Settings, session_factory: sessionmaker[Any], clock: FakeClock,
        notifier: FakeNotifier, ports: Ports) -> Services:
    return build_services(settings, clock=clock, notifier=notifier, session_factory=session_factory, ports=ports)


# The demo logins' Actors, by database: each is a real sign-in (argon2 verify, 0.16 s apiece) done once per run,
# not ten times per test. An Actor is immutable and every test starts from the same seeded users.
_DEMO_ACTORS: dict[str, dict[str, Actor]] = {}


@pytest.fixture
def actors(svc: Services, db_url: str) -> dict[str, Actor]:
    """An Actor for each demo login (admin, clerk, nurse, tech, doctor, senior, typist, head, ...)."""
    if db_url not in _DEMO_ACTORS:
        _DEMO_ACTORS[db_url] = {username: auth.login(svc, username, PASSWORDS[username]) for username in PASSWORDS}
    return dict(_DEMO_ACTORS[db_url])


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Any], clock: FakeClock, ports: Ports) -> Any:
    from backend.app import create_app
    from backend.realtime import SocketIONotifier, socketio

    services = build_services(settings, clock=clock, notifier=SocketIONotifier(socketio),
                              session_factory=session_factory, ports=ports)
    flask_app = create_app(settings, services=services)
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class AuthActions:
    """Sign a test client in and out (Flask tutorial style)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def login(self, username: str = "admin", password: str | None = None) -> Any:
        return self.client.post("/api/auth/login", json={"username": username,
                                                         "password": password or PASSWORDS[username]})

    def logout(self) -> Any:
        return self.client.post("/api/auth/logout", json={})


@pytest.fixture
def auth_actions(client: Any) -> AuthActions:
    return AuthActions(client)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/browser is marked `browser` (CI's PostgreSQL pass deselects them).

    A browser test may be run again, at most twice, when it fails: a live Dash page can redraw a
    control under the robot's pointer on a busy machine. A real defect fails all three runs.
    """
    for item in items:
        if "/tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1))


@pytest.fixture
def cloud_emulator(clock: FakeClock) -> Iterator[Any]:
    """The provincial health cloud's emulator on a free loopback port, on the test's clock."""
    from integrations.health_cloud.emulator import HealthCloudEmulator
    from tests.cloud_ledger_helpers import APP, SECRET

    emu = HealthCloudEmulator(apps={APP: SECRET}, clock=clock).start()
    yield emu
    emu.stop()


@pytest.fixture
def cloud_ports(cloud_emulator: Any) -> Iterator[Ports]:
    """Fakes of every partner but the health cloud: its real signed client, pointed at `cloud_emulator`."""
    from dataclasses import replace

    from tests.cloud_ledger_helpers import cloud_client

    client = cloud_client(cloud_emulator.url, clock=cloud_emulator.now)
    yield replace(fake_ports(), health_cloud=client)
    client.client.close()
