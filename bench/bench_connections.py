"""Many open screens on one web process (issue 18.1): N WebSocket clients stay connected while `/api/health`
is probed and patients are called; prints connect figures, health p50/p95 and call -> screen p50/p99.

    .venv/bin/python bench/bench_connections.py --clients 2000 --screens 200 --rounds 10 [--server web|embedded]

`--screens` of the clients are hall screens of the campus whose room calls (each call reaches them all);
the others are connected and idle in a room no event goes to (kiosks, staff pages of other areas), as in a
hospital where a call is heard by its campus's screens. `--screens 2000` sends every call to all of them.

`web` is `python -m backend web` (gunicorn's gevent worker, the layout at scale); `embedded` is the
threaded server of `make run`. Clients are python-socketio clients on gevent, spread over several
processes (`--client-processes`), each a hall screen joined to one campus room; arrival times use
perf_counter, one system-wide monotonic clock on Linux, so they compare across processes. The open-files
limit is raised to the hard limit here and in every child.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--client-worker" in sys.argv:  # a client process: greenlets, patched first
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import os
import resource
import subprocess
import threading
import time
from typing import Any

from _common import BENCH_DIR, ROOT, default_url, emit, env_url, free_port, normalize, percentile


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- the client process -------------------------------------------------------------------------------

def _client_worker(base: str, campus_id: int, n: int) -> None:
    """Hold `n` clients in the campus room (an id of 0: idle clients in a room nothing is sent to); answer
    commands on stdin (clear / collect EXPECT DEADLINE / close)."""
    import gevent
    import socketio
    from gevent.pool import Pool

    arrivals: list[float] = []
    clients: list[Any] = []

    def connect(_i: int) -> None:
        c = socketio.Client(reconnection=False)
        c.on("ticket_called", lambda _data: arrivals.append(time.perf_counter()))
        try:
            c.connect(f"{base}?campus={campus_id or 'idle'}", transports=["websocket"], wait_timeout=30)
            clients.append(c)
        except Exception:  # counted as failed below
            return

    t0 = time.perf_counter()
    Pool(50).map(connect, range(n))
    _say({"ready": len(clients), "failed": n - len(clients), "seconds": round(time.perf_counter() - t0, 2)})
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "clear":
            arrivals.clear()
            _say({"ok": True})
        elif cmd[0] == "collect":
            expect, deadline = int(cmd[1]), float(cmd[2])
            while len(arrivals) < expect and time.perf_counter() < deadline:
                gevent.sleep(0.002)
            _say({"arrivals": list(arrivals)})
        else:
            Pool(100).map(lambda c: c.disconnect(), clients)
            _say({"closed": True})
            return


def _say(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Fleet:
    """The clients, spread over processes driven through pipes."""

    def __init__(self, base: str, campus_id: int, n: int, procs: int, *, screens: int) -> None:
        """`screens` of the `n` clients are in the called campus's room; the others idle in another room."""
        def split(total: int) -> list[int]:
            return [total // procs + (1 if i < total % procs else 0) for i in range(procs)]

        plan = [(campus_id, k) for k in split(screens)] + [(0, k) for k in split(n - screens)]
        self.procs = [subprocess.Popen([sys.executable, __file__, "--client-worker", base, str(room), str(k)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
                      for room, k in plan if k]
        self.listening = [room != 0 for room, k in plan if k]
        self.ready = [self._read(p) for p in self.procs]
        self.connected = sum(r["ready"] for r in self.ready)
        self.screens = sum(r["ready"] for r, on in zip(self.ready, self.listening, strict=True) if on)

    @staticmethod
    def _read(p: subprocess.Popen[str]) -> dict[str, Any]:
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line:
            raise SystemExit("a client process ended")
        return dict(json.loads(line))

    def _send(self, p: subprocess.Popen[str], line: str) -> None:
        assert p.stdin is not None
        p.stdin.write(line + "\n")
        p.stdin.flush()

    def round(self, fire: Any, *, timeout: float = 5.0) -> list[float]:
        for p in self.procs:
            self._send(p, "clear")
        for p in self.procs:
            self._read(p)
        t0 = time.perf_counter()
        fire()
        for p, r, on in zip(self.procs, self.ready, self.listening, strict=True):
            self._send(p, f"collect {r['ready'] if on else 0} {t0 + timeout}")
        return [(a - t0) * 1000 for p in self.procs for a in self._read(p)["arrivals"]]

    def close(self) -> None:
        for p in self.procs:
            self._send(p, "close")
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


# ---- the driver ---------------------------------------------------------------------------------------

def _start_server(kind: str, url: str, port: int, redis_url: str | None) -> subprocess.Popen[bytes]:
    import httpx

    env = {**os.environ, "DATABASE_URL": url, "RADOPS_SECRET_KEY": "bench", "PYTHONPATH": str(ROOT),
           "RADOPS_VAR_DIR": str(BENCH_DIR / "connections"), "RADOPS_LOG_LEVEL": "WARNING"}
    if redis_url:  # events then go through the Redis queue, as between the processes at scale
        env["REDIS_URL"] = redis_url
    if kind == "web":
        args = [sys.executable, "-m", "backend", "web", "--port", str(port)]
    else:
        args = [sys.executable, str(ROOT / "bench" / "bench_call_to_screen.py"), "--serve", "app",
                "--database-url", url, "--port", str(port)]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{kind} server did not start")


class HealthProbe(threading.Thread):
    """GET /api/health every `every` seconds until stopped; keeps each answer's time, and the components it
    named down (the bench runs the web process alone: the scheduler and the listeners of the scale layout are
    other processes, so a 503 naming only those is the honest answer here, not a failure of the web process)."""

    def __init__(self, base: str, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.base, self.every = base, every
        self.times: list[float] = []
        self.statuses: set[int] = set()
        self.down: set[str] = set()
        self.errors = 0
        self._halt = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self._halt.is_set():
                t0 = time.perf_counter()
                try:
                    answer = client.get("/api/health")
                    self.times.append((time.perf_counter() - t0) * 1000)
                    self.statuses.add(answer.status_code)
                    if answer.status_code != 200:
                        self.down.update(c["name"] for c in answer.json()["components"]
                                         if c["required"] and c["state"] != "ok")
                except httpx.HTTPError:
                    self.errors += 1
                self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=20)


def _measure(base: str, ids: dict[str, Any], a: argparse.Namespace) -> dict[str, Any]:
    import httpx

    fleet = Fleet(base, ids["campus_id"], a.clients, a.client_processes, screens=min(a.screens, a.clients))
    desk = httpx.Client(base_url=base, timeout=10)
    desk.post("/api/auth/login", json={"username": "tech", "password": ids["password"]})
    probe = HealthProbe(base)
    samples: list[float] = []
    answered: list[float] = []
    lost = 0
    try:
        time.sleep(1.0)
        probe.start()
        for _ in range(a.rounds):
            last: dict[str, Any] = {}

            def call(last: dict[str, Any] = last) -> None:
                t0 = time.perf_counter()
                r = desk.post(f"/api/rooms/{ids['room_id']}/call-next", json={})
                answered.append((time.perf_counter() - t0) * 1000)
                last.update(r.raise_for_status().json())

            got = fleet.round(call)
            samples += got
            lost += fleet.screens - len(got)
            desk.post(f"/api/tickets/{last['ticket_id']}/missed", json={}).raise_for_status()
            time.sleep(0.3)
    finally:
        probe.stop()
        desk.close()
        fleet.close()
    return {"clients": a.clients, "connected": fleet.connected, "screens_called": fleet.screens,
            "client_processes": len(fleet.procs), "call_answer_p50_ms": round(percentile(answered, 50), 1),
            "connect_s": max(r["seconds"] for r in fleet.ready), "rounds": a.rounds, "samples": len(samples),
            "lost": lost, "call_to_screen_p50_ms": round(percentile(samples, 50), 1),
            "call_to_screen_p99_ms": round(percentile(samples, 99), 1), "health_requests": len(probe.times),
            "health_errors": probe.errors, "health_status": sorted(probe.statuses),
            "health_down": sorted(probe.down),
            "health_p50_ms": round(percentile(probe.times, 50), 1),
            "health_p95_ms": round(percentile(probe.times, 95), 1)}


def main() -> None:
    if "--client-worker" in sys.argv:
        i = sys.argv.index("--client-worker")
        _raise_fd_limit()
        return _client_worker(sys.argv[i + 1], int(sys.argv[i + 2]), int(sys.argv[i + 3]))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--screens", type=int, default=200,
                   help="clients in the called campus's room (hall screens); the rest idle in another room")
    p.add_argument("--client-processes", type=int, default=4, help="processes per group of clients")
    p.add_argument("--server", choices=("web", "embedded"), default="web")
    p.add_argument("--database-url", help="default: BENCH_DATABASE_URL, else a SQLite file under var/bench")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                   help="Socket.IO message queue of the web process (default: BENCH_REDIS_URL; none: in-process)")
    a = p.parse_args()
    limit = _raise_fd_limit()
    from bench_call_to_screen import _prepare

    url = normalize(a.database_url or env_url() or default_url("connections.db"))
    ids = _prepare(url, a.rounds + 2)
    port = free_port()
    server = _start_server(a.server, url, port, a.redis_url if a.server == "web" else None)
    try:
        figures = _measure(f"http://127.0.0.1:{port}", ids, a)
    finally:
        server.terminate()
        server.wait(timeout=30)
    emit("connections", server=a.server, database=url.split(":", 1)[0], redis=bool(a.redis_url and a.server == "web"),
         open_files=limit, load_1min=round(os.getloadavg()[0], 1), **figures,
         target_health_p95_ms=50, target_call_to_screen_p99_ms=100)


if __name__ == "__main__":
    main()
