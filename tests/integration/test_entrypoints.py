"""The README's commands as real processes: `web` serves on gunicorn's gevent worker and writes every
queued read-audit row when it gets SIGTERM; `run` and `listeners` end with one Chinese line and status 1
when the MLLP port is taken; `scheduler` logs name the job."""

from __future__ import annotations

import logging
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.models import AuditEntry
from backend.jobs import Job, build_scheduler
from backend.services import auth
from backend.services.base import transaction
from tests.conftest import PASSWORDS
from tests.helpers import register
from tests.processes import free_port, radops, radops_env, wait_http, wait_until


def _one_exam(db_url: str) -> None:
    svc = build_services(Settings(database_url=db_url, secret_key="t"))
    register(svc, auth.login(svc, "clerk", PASSWORDS["clerk"]), name="张三")


def _reads(db_url: str) -> int:
    svc = build_services(Settings(database_url=db_url, secret_key="t"))
    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.action == "read", AuditEntry.entity == "exam_list")) or 0)


def test_web_serves_with_gevent_and_sigterm_loses_no_read_audit(fresh_db_url: str, tmp_path: Path) -> None:
    _one_exam(fresh_db_url)  # an exam-list read of an empty list is not audited
    port = free_port()
    web = radops(["web", "--port", str(port)], radops_env(fresh_db_url, tmp_path), tmp_path / "web.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/health", proc=web)
        with httpx.Client(base_url=base, timeout=10) as client:
            client.post("/api/auth/login", json={"username": "doctor", "password": PASSWORDS["doctor"]})
            before = _reads(fresh_db_url)
            for _ in range(5):
                assert client.get("/api/exams").status_code == 200
        web.signal(signal.SIGTERM)  # at once: the 2-second batch is not due yet
        assert web.wait(timeout=30) == 0
    finally:
        web.stop()
    log = web.log()
    assert "async_mode=gevent" in log, log[-2000:]
    assert "psycopg_wait=wait_c" not in log  # a blocking wait would stall every greenlet of the process
    assert "Using worker: backend.entrypoints.web_worker.Worker" in log
    assert f"gunicorn-{port}.ctl" in log  # one control socket per instance
    assert _reads(fresh_db_url) - before == 5


def _taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("command", [["run", "--no-seed"], ["listeners"]])
def test_a_taken_mllp_port_ends_the_command_with_one_chinese_line(command: list[str], fresh_db_url: str,
                                                                   tmp_path: Path) -> None:
    blocker = _taken_port()
    port = blocker.getsockname()[1]
    env = radops_env(fresh_db_url, tmp_path, RADOPS_MLLP_PORT=str(port), RADOPS_PORT=str(free_port()))
    proc = radops(command, env, tmp_path / "out.log")
    try:
        status = proc.wait(timeout=90)
    finally:
        proc.stop()
        blocker.close()
    out = proc.log()
    assert status == 1, out[-2000:]
    assert f"HL7 MLLP 监听 无法启动：127.0.0.1:{port} 端口已被占用" in out.splitlines()
    assert "RadOps 已启动" not in out  # it never claimed to be running


def test_listeners_command_reports_each_listener_and_stops_on_sigterm(fresh_db_url: str, tmp_path: Path) -> None:
    env = radops_env(fresh_db_url, tmp_path)
    mllp_port = int(env["RADOPS_MLLP_PORT"])
    proc = radops(["listeners"], env, tmp_path / "listeners.log")
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", mllp_port), timeout=1).close() or True,
                   what="MLLP port")
        web_port = free_port()
        web = radops(["web", "--port", str(web_port)], env, tmp_path / "web.log")
        try:
            wait_http(f"http://127.0.0.1:{web_port}/api/health", proc=web)
            body = httpx.get(f"http://127.0.0.1:{web_port}/api/health", timeout=10).json()
        finally:
            web.stop()
        proc.signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.stop()
    states = {c["name"]: c["state"] for c in body["components"]}
    assert states["HL7 MLLP"] == "ok"
    assert states["医保电子凭证模拟"] == "ok"
    assert states["scheduler"] == "down"  # nothing runs it here: reported, and the answer is 503
    assert body["status"] == "down"


def test_scheduler_log_lines_name_the_job_and_count_this_process(caplog: pytest.LogCaptureFixture) -> None:
    scheduler = build_scheduler(None, (Job("er_reminders", 1, lambda _svc: {"closed": 2}),))  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="backend.jobs")  # routine passes log at DEBUG (issue 14.11)
    scheduler.start()
    try:
        wait_until(lambda: any("done in this process" in r.getMessage() for r in caplog.records), timeout=10)
    finally:
        scheduler.shutdown(wait=True)
    time.sleep(0.1)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("apscheduler.executors", "backend.jobs"))]
    assert lines
    assert all("er_reminders" in line for line in lines), lines
    assert not any("_guarded" in line or "<locals>" in line for line in lines)
    assert "job er_reminders done in this process: {'closed': 2}" in lines


def test_the_embedded_run_is_healthy_with_every_component_and_stops_on_sigterm(fresh_db_url: str,
                                                                               tmp_path: Path) -> None:
    port = free_port()
    proc = radops(["run", "--no-seed"], radops_env(fresh_db_url, tmp_path, RADOPS_PORT=str(port)),
                  tmp_path / "run.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", proc=proc, timeout=120)
        r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
        proc.signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.stop()
    assert r.status_code == 200, r.text
    states = {c["name"]: c["state"] for c in r.json()["components"]}
    assert {"database", "scheduler", "HL7 MLLP", "医保电子凭证模拟", "体检演示申请单"} <= states.keys()
    assert set(states.values()) == {"ok"}, states  # every listener and emulator of starters() is up
    assert "RadOps 已启动" in proc.log()
