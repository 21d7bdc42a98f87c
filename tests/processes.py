"""Real RadOps processes for tests: the README's commands, started with an environment of free loopback
ports, logging to files, stopped by signal; plus a private redis-server and nginx where a test needs them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def radops_env(db_url: str, tmp: Path, *, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of every process of one installation (the README's variables), on free ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "RADOPS_"))}
    env.update({"DATABASE_URL": db_url, "RADOPS_SECRET_KEY": "process-test-secret", "RADOPS_VAR_DIR": str(tmp),
                "RADOPS_MLLP_PORT": str(free_port()), "RADOPS_DICOM_PORT": str(free_port()),
                "RADOPS_INSURANCE_URL": f"http://127.0.0.1:{free_port()}",
                "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    env["RADOPS_HEALTH_CHECK_RESULTS_PORT"] = str(free_port())  # the health-check result receiver's emulator
    env["RADOPS_CADRE_URL"] = f"http://127.0.0.1:{free_port()}"  # the cadre-health emulator and its S3 server
    env["RADOPS_CADRE_S3_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    env["RADOPS_HEALTH_CLOUD_URL"] = f"http://127.0.0.1:{free_port()}"  # the provincial health cloud's emulator
    env["RADOPS_RECON_PORT"] = str(free_port())  # the reconstruction system's emulator (a DICOM node)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Proc:
    """One child process whose output goes to a log file (read with `.log()`)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def kill(self) -> None:
        """kill -9 of the process and every process it started (a crash, not a stop)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        finally:
            self._out.close()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL of its whole process group if it does not end in time."""
        self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
            return None


def radops(command: list[str], env: dict[str, str], log: Path) -> Proc:
    return Proc([PYTHON, "-m", "backend", *command], env, log)


def wait_until(check: Callable[[], Any], *, timeout: float = 30, every: float = 0.1, what: str = "") -> Any:
    """Poll `check` until it returns something truthy (bounded); raise with `what` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


def wait_http(url: str, *, proc: Proc | None = None, timeout: float = 60) -> None:
    def up() -> bool:
        if proc is not None and proc.popen.poll() is not None:
            raise AssertionError(f"process ended early:\n{proc.log()[-3000:]}")
        httpx.get(url, timeout=2)
        return True

    wait_until(up, timeout=timeout, what=url)


@contextmanager
def private_redis(tmp: Path) -> Iterator[str]:
    """A redis-server of this test's own on a free loopback port (nothing saved), for tests that run
    where no TEST_REDIS_URL is given."""
    binary = shutil.which("redis-server")
    if binary is None:
        import pytest

        pytest.skip("redis-server not installed (apt-get install redis-server)")
    port = free_port()
    proc = Proc([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(tmp)], dict(os.environ), tmp / "redis.log")
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True,
                   what="redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.stop()
