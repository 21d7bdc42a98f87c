"""Call to screen (QS-*): latency from the call request to the `ticket_called` event arriving at each of N
connected Socket.IO screen clients, beside a bare Flask-SocketIO broadcast of a same-size event measured in
the same run. Each server runs in its own process on loopback (threading mode, as the embedded default).

    .venv/bin/python bench/bench_call_to_screen.py --clients 200 --rounds 20 [--client-processes 4]

The call is the real room-desk API (`POST /api/rooms/<id>/call-next`, signed in as a technologist); the
bare server answers `POST /emit` with one `socketio.emit` to the same room. One JSON line each, then the ratio.
Clients use the WebSocket transport when the websocket-client package is installed (requirements-dev.txt),
else long-polling; both servers are measured with the same transport (printed as `transport`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from _common import ROOT, default_url, emit, free_port, percentile

try:
    import websocket  # noqa: F401  (websocket-client: the python-socketio client's WebSocket transport)

    TRANSPORT = "websocket"
except ImportError:
    TRANSPORT = "polling"
PAYLOAD_KEYS = ("ticket_id", "exam_id", "queue_id", "room_id", "campus_id", "code", "status")


def _serve_app(url: str, port: int) -> None:
    from backend.app import create_app
    from backend.config import Settings
    from backend.entrypoints.heap import freeze_startup_heap
    from backend.realtime import socketio

    app = create_app(Settings(database_url=url, secret_key="bench", port=port, start_scheduler=False))
    freeze_startup_heap()  # as the entrypoints do before serving
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)


def _serve_bare(port: int) -> None:
    from flask import Flask, request
    from flask_socketio import SocketIO, join_room

    app = Flask(__name__)
    sio = SocketIO(app, async_mode="threading", logger=False, engineio_logger=False)

    @sio.on("connect")
    def _connect(auth: Any = None) -> None:
        join_room(f"campus:{request.args.get('campus', '')}")

    @app.post("/emit")
    def _emit() -> Any:
        body = request.get_json()
        sio.emit("ticket_called", body["payload"], to=body["room"])
        return {"ok": True}

    @app.get("/ping")
    def _ping() -> Any:
        return {"ok": True}

    sio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)


def _prepare(url: str, patients: int) -> dict[str, Any]:
    """A fresh demo database with `patients` checked in to the DR queue today; returns ids the bench needs."""
    from bench_seed import _fresh
    from sqlalchemy import select

    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.db.models import Room
    from backend.domain.registration import OrderData, PatientData
    from backend.ports import RecordingNotifier
    from backend.seed import DEMO_LOGINS
    from backend.seed.reference import seed_reference
    from backend.services import auth
    from backend.services.base import transaction
    from backend.services.orders import registration
    from backend.services.patient_flow import checkin, screens

    _fresh(url)
    upgrade(url)
    seed_reference(Settings(database_url=url), seed=1, now=datetime.now(UTC), slot_days=(0, 0))
    svc = build_services(Settings(database_url=url, secret_key="bench"), notifier=RecordingNotifier())
    pw = {u: p for u, p, _ in DEMO_LOGINS}
    clerk, nurse = auth.login(svc, "clerk", pw["clerk"]), auth.login(svc, "nurse", pw["nurse"])
    for i in range(patients):
        order = OrderData(patient=PatientData(mrn=f"B{i:07d}", name="欧阳秀兰", sex="F"), item_code="DR-CHEST")
        exam = registration.register(svc, order, by=clerk)
        checkin.check_in_exam(svc, exam["exam_id"], None, by=nurse)
    with transaction(svc, readonly=True) as tx:
        room = tx.session.scalars(select(Room.id).where(Room.code == "DR1")).one()
    campus = screens.screen_view(svc, "HALL-MAIN")[0]["campus_id"]
    return {"room_id": int(room), "campus_id": int(campus), "password": pw["tech"]}


def _start(args: list[str], port: int, probe: str) -> subprocess.Popen[bytes]:
    import requests

    proc = subprocess.Popen([sys.executable, __file__, *args, "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            # /api/health answers 503 here (no scheduler or listeners run beside the bench server): it is up.
            if requests.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code in (200, 503):
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server {args} did not start")


class Screens:
    """N screen clients joined to one campus, in one process; records when each `ticket_called` arrives."""

    def __init__(self, base: str, campus_id: int, n: int) -> None:
        import socketio

        self.arrivals: list[float] = []
        self.lock = threading.Lock()
        self.clients = []
        for _ in range(n):
            c = socketio.Client(reconnection=False)
            c.on("ticket_called", self._got)
            c.connect(f"{base}?campus={campus_id}", transports=[TRANSPORT], wait_timeout=10)
            self.clients.append(c)

    def _got(self, _data: Any) -> None:
        at = time.perf_counter()
        with self.lock:
            self.arrivals.append(at)

    def clear(self) -> None:
        with self.lock:
            self.arrivals.clear()

    def collect(self, expect: int, deadline: float) -> list[float]:
        while time.perf_counter() < deadline:
            with self.lock:
                if len(self.arrivals) >= expect:
                    break
            time.sleep(0.002)
        with self.lock:
            return list(self.arrivals)

    def close(self) -> None:
        # A WebSocket client's disconnect waits for the server's goodbye: close them all at once.
        threads = [threading.Thread(target=c.disconnect, daemon=True) for c in self.clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)


def _screens_process(conn: Any, base: str, campus_id: int, n: int) -> None:
    """A process holding `n` screen clients, driven over a pipe (clear / collect / close)."""
    screens = Screens(base, campus_id, n)
    conn.send("ready")
    while True:
        cmd = conn.recv()
        if cmd[0] == "clear":
            screens.clear()
            conn.send("ok")
        elif cmd[0] == "collect":
            conn.send(screens.collect(cmd[1], cmd[2]))
        else:
            screens.close()
            conn.send("closed")
            return


class ScreenFleet:
    """The N clients spread over a few processes, as hall screens are separate machines.

    One Python process receiving 200 WebSocket messages handles them one at a time under its GIL, which
    would add its own tens of milliseconds to every figure; arrival times are taken with perf_counter,
    which is one system-wide monotonic clock on Linux, so they compare across processes.
    """

    def __init__(self, base: str, campus_id: int, n: int, procs: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        self.sizes = [k for k in sizes if k]
        self.pipes, self.procs = [], []
        for k in self.sizes:
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_screens_process, args=(there, base, campus_id, k), daemon=True)
            proc.start()
            self.pipes.append(here)
            self.procs.append(proc)
        for pipe in self.pipes:
            if not pipe.poll(120) or pipe.recv() != "ready":
                raise SystemExit("screen clients did not connect")

    def round(self, fire: Any, *, timeout: float = 5.0) -> list[float]:
        for pipe in self.pipes:
            pipe.send(("clear",))
        for pipe in self.pipes:
            pipe.recv()
        t0 = time.perf_counter()
        fire()
        deadline = t0 + timeout
        for pipe, k in zip(self.pipes, self.sizes, strict=True):
            pipe.send(("collect", k, deadline))
        return [(a - t0) * 1000 for pipe in self.pipes for a in pipe.recv()]

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(("close",))
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            pipe.poll(30)
            proc.join(timeout=30)


def _measure(base: str, campus_id: int, n: int, rounds: int, fire: Any, after: Any = None, *,
             procs: int) -> dict[str, Any]:
    fleet = ScreenFleet(base, campus_id, n, procs)
    try:
        time.sleep(0.5)
        samples: list[float] = []
        lost = 0
        for i in range(rounds):
            got = fleet.round(lambda i=i: fire(i))
            samples += got
            lost += n - len(got)
            if after is not None:
                after()
    finally:
        fleet.close()
    return {"transport": TRANSPORT, "clients": n, "client_processes": len(fleet.sizes), "rounds": rounds,
            "samples": len(samples), "lost": lost, "p50_ms": round(percentile(samples, 50), 1),
            "p99_ms": round(percentile(samples, 99), 1), "max_ms": round(max(samples or [0]), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--client-processes", type=int, default=4, help="processes the screen clients are spread over")
    p.add_argument("--serve", choices=("app", "bare"))
    p.add_argument("--database-url")
    p.add_argument("--port", type=int)
    a = p.parse_args()
    if a.serve == "app":
        return _serve_app(a.database_url, a.port)
    if a.serve == "bare":
        return _serve_bare(a.port)
    import requests

    url = a.database_url or default_url("call_to_screen.db")
    ids = _prepare(url, a.rounds + 2)
    app_port, bare_port = free_port(), free_port()
    app_proc = _start(["--serve", "app", "--database-url", url], app_port, "/api/health")
    bare_proc = _start(["--serve", "bare"], bare_port, "/ping")
    try:
        base = f"http://127.0.0.1:{app_port}"
        desk = requests.Session()
        desk.post(f"{base}/api/auth/login", json={"username": "tech", "password": ids["password"]}, timeout=10)
        last: dict[str, Any] = {}
        answered: list[float] = []

        def call(_i: int) -> None:
            t0 = time.perf_counter()
            r = desk.post(f"{base}/api/rooms/{ids['room_id']}/call-next", json={}, timeout=10)
            answered.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            last.update(r.json())

        def missed() -> None:  # untimed: the patient did not come, which frees the room for the next call
            desk.post(f"{base}/api/tickets/{last['ticket_id']}/missed", json={}, timeout=10).raise_for_status()
            time.sleep(0.2)

        app = _measure(base, ids["campus_id"], a.clients, a.rounds, call, missed, procs=a.client_processes)
        emit("call_to_screen", server="radops", call_answer_p50_ms=round(percentile(answered, 50), 1), **app)
        payload = dict.fromkeys(PAYLOAD_KEYS, 0) | {"code": "DR001", "status": "called"}
        bare_base = f"http://127.0.0.1:{bare_port}"
        room = f"campus:{ids['campus_id']}"

        def broadcast(_i: int) -> None:
            requests.post(f"{bare_base}/emit", json={"payload": payload, "room": room}, timeout=10)

        bare = _measure(bare_base, ids["campus_id"], a.clients, a.rounds, broadcast, procs=a.client_processes)
        emit("call_to_screen", server="bare_flask_socketio", payload_bytes=len(json.dumps(payload)), **bare)
        emit("call_to_screen", ratio_p99=round(app["p99_ms"] / max(bare["p99_ms"], 0.1), 2),
             ratio_p50=round(app["p50_ms"] / max(bare["p50_ms"], 0.1), 2), target_p99_ms=100)
    finally:
        for proc in (app_proc, bare_proc):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
