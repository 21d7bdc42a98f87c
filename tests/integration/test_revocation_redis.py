"""Revocation across processes (issue 18.4): a key revoked, or a user deactivated, through one web process
stops working on the other at once (well inside the 5-second cache lifetime), through Redis.
Runs only where TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from backend.bootstrap import build_services
from backend.config import Settings
from backend.services import auth
from tests.conftest import PASSWORDS
from tests.processes import free_port, radops, radops_env, wait_http

REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set: no Redis for the cross-process test"),
]
# The cache lifetime of services/auth.py is 5 s; an answer within 1 s can only come from the bus.
AT_ONCE_S = 1.0


def _refused_within(call: object, seconds: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if call().status_code == 401:  # type: ignore[operator]
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"still accepted {seconds} s after the revocation on the other process")


def test_revoked_key_and_deactivated_user_stop_on_the_other_process_at_once(fresh_db_url: str,
                                                                            tmp_path: Path) -> None:
    svc = build_services(Settings(database_url=fresh_db_url, secret_key="t"))
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    key = auth.create_api_key(svc, "检查列表只读", ["exam.read"], by=admin)
    typist_id = auth.login(svc, "typist", PASSWORDS["typist"]).id
    env = radops_env(fresh_db_url, tmp_path, redis_url=REDIS_URL)
    ports = free_port(), free_port()
    procs = [radops(["web", "--port", str(p)], env, tmp_path / f"web{p}.log") for p in ports]
    a, b = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        for proc, base in zip(procs, (a, b), strict=True):
            wait_http(f"{base}/api/health", proc=proc)
        with httpx.Client(base_url=a, timeout=10) as on_a, httpx.Client(base_url=b, timeout=10) as typist_b:
            on_a.post("/api/auth/login", json={"username": "admin", "password": PASSWORDS["admin"]})
            typist_b.post("/api/auth/login", json={"username": "typist", "password": PASSWORDS["typist"]})
            key_on_b = lambda: httpx.get(f"{b}/api/exams", headers={"X-API-Key": key}, timeout=10)  # noqa: E731
            time.sleep(1.0)  # both subscribers are listening
            assert key_on_b().status_code == 200  # B now remembers the key for 5 s
            revoked = on_a.get("/api/admin/api-keys").json()["api_keys"][0]["id"]
            assert on_a.post(f"/api/admin/api-keys/{revoked}/revoke", json={}).status_code == 200
            key_delay = _refused_within(key_on_b, AT_ONCE_S)

            assert typist_b.get("/api/exams").status_code == 200  # B remembers the typist for 5 s
            r = on_a.post(f"/api/admin/users/{typist_id}/active", json={"active": False})
            assert r.status_code == 200, r.text
            user_delay = _refused_within(lambda: typist_b.get("/api/exams"), AT_ONCE_S)
    finally:
        for proc in procs:
            proc.stop()
    assert key_delay < AT_ONCE_S
    assert user_delay < AT_ONCE_S
