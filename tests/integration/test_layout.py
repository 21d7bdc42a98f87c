"""The layout at scale as the README runs it (issue 18): `honcho start` of the Procfile's two web processes,
the scheduler and the listeners on PostgreSQL and Redis. Every component is healthy; an HL7 order sent
to the listeners is in the exam list of one web process and pushed live to a page on the other; a stop
(SIGTERM to honcho) writes every queued read-audit row. Runs in CI's PostgreSQL pass."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import AuditEntry
from backend.services.base import transaction
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import HealthCheckOrder, MllpClient, build_message
from tests.conftest import PASSWORDS
from tests.processes import ROOT, Proc, free_port, radops_env, wait_until

REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(not (REDIS_URL and os.environ.get("TEST_DATABASE_URL")),
                       reason="the layout at scale needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL"),
]
HONCHO = Path(sys.executable).parent / "honcho"


def _healthy(base: str) -> dict[str, Any] | None:
    body: dict[str, Any] = httpx.get(f"{base}/api/health", timeout=5).json()
    states = {c["name"]: c for c in body["components"]}
    web = states.get("web", {}).get("instances", 0)
    return body if body["status"] == "ok" and web == 2 else None


def _audit_reads(svc: Any) -> int:
    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.action == "read")) or 0)


def _send_orders(port: int, n: int) -> list[str]:
    """New health-check orders over MLLP (control ids of their own: the listeners' demo orders are others)."""
    tag = uuid.uuid4().hex[:6].upper()
    with MllpClient("127.0.0.1", port) as client:
        return [read_ack(client.send(build_message(HealthCheckOrder(
            control_id=f"LY{tag}{i}", placer_order_no=f"LY{tag}{i}", mrn=f"LY{tag}{i}", name="李秀兰",
            item_code="US-THYROID", sex="F"), at=datetime.now(UTC)))).code for i in range(n)]


def _staff_socket(base: str, cookie: str, heard: list[str], got: threading.Event) -> socketio.Client:
    client = socketio.Client(reconnection=False)

    @client.on("*")
    def _any(event: str, *_args: Any) -> None:
        heard.append(event)
        got.set()

    client.connect(f"{base}?exams=1", transports=["websocket"], headers={"Cookie": f"radops_session={cookie}"},
                   wait_timeout=10)
    return client


def test_the_procfile_layout_on_postgresql_and_redis(fresh_db_url: str, tmp_path: Path) -> None:
    p1, p2 = free_port(), free_port()
    # DEBUG: each job run's own line ("job X done in this process") is a DEBUG line since issue 14.11.
    env = radops_env(fresh_db_url, tmp_path, redis_url=REDIS_URL, RADOPS_WEB1_PORT=str(p1),
                     RADOPS_WEB2_PORT=str(p2), RADOPS_LOG_LEVEL="DEBUG")
    (tmp_path / "empty.env").write_text("")
    honcho = Proc([str(HONCHO), "-e", str(tmp_path / "empty.env"), "-f", str(ROOT / "Procfile"), "start",
                   "web1", "web2", "scheduler", "listeners"], env, tmp_path / "honcho.log")
    web1, web2 = f"http://127.0.0.1:{p1}", f"http://127.0.0.1:{p2}"
    svc = build_services(Settings(database_url=fresh_db_url, secret_key="t"))
    try:
        body = wait_until(lambda: _healthy(web1), timeout=120, what=f"a healthy layout\n{honcho.log()[-3000:]}")
        names = {c["name"]: c for c in body["components"]}
        assert names["scheduler"]["instances"] == 1
        assert names["HL7 MLLP"]["state"] == "ok"
        assert names["realtime"]["state"] == "ok"
        with httpx.Client(base_url=web1, timeout=10) as staff1, httpx.Client(base_url=web2, timeout=10) as staff2:
            staff1.post("/api/auth/login", json={"username": "clerk", "password": PASSWORDS["clerk"]})
            staff2.post("/api/auth/login", json={"username": "clerk", "password": PASSWORDS["clerk"]})
            heard: list[str] = []
            got = threading.Event()
            page = _staff_socket(web1, staff1.cookies["radops_session"], heard, got)
            try:
                acks = _send_orders(int(env["RADOPS_MLLP_PORT"]), 2)
                assert acks == ["AA", "AA"]
                assert got.wait(timeout=10), "the listeners' events never reached the page on web1"
            finally:
                page.disconnect()
            before = _audit_reads(svc)
            found = staff2.get("/api/exams", params={"patient_class": "health_check"}).json()["items"]
            assert len(found) >= 2
        # The first job passes come a few seconds after the scheduler starts (interval triggers).
        wait_until(lambda: "done in this process" in honcho.log(), timeout=60, what="a scheduled job run")
        honcho.signal()  # honcho passes SIGTERM to every process
        assert honcho.wait(timeout=60) is not None
    finally:
        honcho.stop()
    assert heard
    assert _audit_reads(svc) - before >= 1  # web2's queued exam-list read was written at the stop
    log = honcho.log()
    job_lines = [line for line in log.splitlines() if "done in this process" in line]
    assert job_lines, log[-4000:]
    assert all(line.split("|", 1)[0].split()[-1].startswith("scheduler.") for line in job_lines)  # only there
    assert "psycopg_wait=wait_c" not in log
    assert "async_mode=gevent psycopg_wait=wait_poll" in log
