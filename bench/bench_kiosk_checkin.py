"""Kiosk check-in through HTTP at N concurrent kiosks (default 50): throughput and latency percentiles.

The real app runs in its own process (werkzeug, threaded) on a free loopback port; each kiosk is a thread with
its own httpx client posting POST /api/kiosk/checkin (method mrn) for patients of its own, each with one exam
(DR, abdominal or breast ultrasound: walk-in items, so the time window never refuses). Two modes, one JSON line
each:
- paced (the aim, p99 < 100 ms): every kiosk checks a patient in every --interval seconds (jittered +-50 %,
  random start). At the default 2 s, 50 kiosks send 25 check-ins a second, 90,000 an hour: a patient at a real
  kiosk needs 15 s or more, and the hospital checks in about 3,000 exams a day.
- saturated (capacity): every kiosk posts the next patient the moment it has its answer; latency is then
  queueing (50 kiosks / throughput), the figure to read is throughput.
Side by side (unless --no-baseline), each mode is driven again against bare Flask on the same threaded
werkzeug server: one route answering a fixed check-in answer of the same shape, no database. That line is
the floor of the HTTP stack and of this bench's own clients on the machine at that moment.
    .venv/bin/python bench/bench_kiosk_checkin.py [--database-url URL] [--kiosks 50] [--patients 1000]
        [--interval 2] [--modes paced,saturated] [--server werkzeug|web] [--no-baseline]
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import httpx
from _common import BENCH_DIR, ROOT, default_url, emit, free_port, normalize, percentile

SERVER = """
import logging, os, sys, threading
from werkzeug.serving import make_server
from backend.app import create_app
from backend.config import Settings
logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = create_app(Settings(database_url=sys.argv[1], secret_key="bench-secret", start_scheduler=False))
from backend.entrypoints.heap import freeze_startup_heap
freeze_startup_heap()  # as the entrypoints do before serving
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Timer(float(sys.argv[2]), lambda: os._exit(0)).start()
print("READY", server.server_port, flush=True)
server.serve_forever()
"""
BARE = """
import json, logging, os, sys, threading
from flask import Flask, jsonify
from werkzeug.serving import make_server
logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = Flask("bare")
app.json.ensure_ascii = False
ANSWER = {"patient_id": 1, "masked_name": "测*者", "results": [{
    "exam_id": 1, "accession": "A202612010001", "item": "腹部超声", "modality": "US", "status": "arrived",
    "status_label": "已签到", "scheduled": "", "ok": True, "reason": None, "requeued": False, "message": "签到成功",
    "ticket": {"ticket_id": 1, "exam_id": 1, "code": "U001", "number": 1, "status": "waiting",
               "status_label": "候检", "queue_id": 1, "queue_name": "超声", "room_id": None, "room_name": "",
               "priority": "routine", "call_count": 0, "checked_in_at": "2026-12-01T08:00:00+08:00",
               "called_at": None}, "people_ahead": 3}]}
@app.post("/api/kiosk/checkin")
def checkin():
    return jsonify(ANSWER)
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Timer(float(sys.argv[1]), lambda: os._exit(0)).start()
print("READY", server.server_port, flush=True)
server.serve_forever()
"""
ITEMS = ("DR-CHEST", "US-ABD", "US-BREAST")
WARM_UP = 30


def _terminals(svc: Any, run: str, kiosks: int) -> list[tuple[str, str]]:
    """One enrolled terminal per simulated kiosk (like K1, with its own device key): each kiosk has its own
    per-terminal rate limit, as in the hall. Returns (terminal code, device key) pairs."""
    from sqlalchemy import select

    from backend.db.models import KioskTerminal
    from backend.domain.actor import SYSTEM
    from backend.services import devices

    with svc.session_factory() as s, s.begin():
        k1 = s.scalars(select(KioskTerminal).where(KioskTerminal.code == "K1")).one()
        codes = [f"B{run}{i:02d}" for i in range(kiosks)]
        s.add_all([KioskTerminal(code=c, name=f"压测自助机 {i}", campus_id=k1.campus_id, queue_codes=k1.queue_codes,
                                 display_profile="portrait", active=True) for i, c in enumerate(codes)])
    return [(c, devices.enrol(svc, "kiosk", c, by=SYSTEM)) for c in codes]


def _prepare(url: str, patients: int, kiosks: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Migrate, seed the reference data, register one exam per new patient; return MRNs and the terminals."""
    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.domain.actor import SYSTEM
    from backend.domain.registration import OrderData, PatientData
    from backend.seed.reference import seed_reference
    from backend.services.orders import registration

    upgrade(url)
    seed_reference(Settings(database_url=url), seed=1)
    svc = build_services(Settings(database_url=url))
    run = uuid.uuid4().hex[:6]
    mrns = [f"B{run}{i:05d}" for i in range(patients)]
    for i, mrn in enumerate(mrns):
        registration.register(svc, OrderData(patient=PatientData(mrn=mrn, name="测试患者"),
                                             item_code=ITEMS[i % len(ITEMS)]), by=SYSTEM)
    from backend.services.admin import system as admin_system

    # Saturated mode posts as fast as answers come: lift the per-terminal limit to its maximum.
    admin_system.change_setting(svc, "kiosk.rate_per_min", 600, by=SYSTEM)
    return mrns, _terminals(svc, run, kiosks)


def _kiosk(base: str, terminal: tuple[str, str], work: queue.Queue[str], out: list[float], errors: list[str], *,
           interval: float, rng: random.Random) -> None:
    code, key = terminal
    with httpx.Client(base_url=base, timeout=60, headers={"X-Device-Key": key}) as client:
        due = time.perf_counter() + rng.uniform(0, interval)
        while True:
            if interval:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += interval * rng.uniform(0.5, 1.5)
            try:
                mrn = work.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            resp = client.post("/api/kiosk/checkin", json={"terminal": code, "method": "mrn", "code": mrn})
            out.append(time.perf_counter() - t0)
            if resp.status_code != 200 or not all(r["ok"] for r in resp.json()["results"]):
                errors.append(f"{resp.status_code} {resp.text[:160]}")


def _drive(base: str, terminals: list[tuple[str, str]], mrns: list[str], *, kiosks: int,
           interval: float) -> dict[str, object]:
    work: queue.Queue[str] = queue.Queue()
    for m in mrns:
        work.put(m)
    lat: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=_kiosk, args=(base, terminals[i], work, lat, errors),
                                kwargs={"interval": interval, "rng": random.Random(i)}) for i in range(kiosks)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"checkins": len(lat), "errors": len(errors), "first_error": errors[0] if errors else None,
            "wall_s": round(wall, 2), "throughput_per_s": round(len(lat) / wall, 1),
            "p50_ms": round(percentile(lat, 50) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1), "max_ms": round(max(lat) * 1000, 1)}


def _start(url: str, server: str) -> tuple[subprocess.Popen[str], str]:
    """The app in its own process: werkzeug's threaded server (as `make run`), or `python -m backend web`
    (gunicorn's gevent worker, the documented production web process); or bare Flask on werkzeug."""
    if server in ("werkzeug", "bare_flask"):
        args = [SERVER, url, "1800"] if server == "werkzeug" else [BARE, "1800"]
        proc = subprocess.Popen([sys.executable, "-c", *args], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout is not None
        return proc, f"http://127.0.0.1:{proc.stdout.readline().split()[1]}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "RADOPS_SECRET_KEY": "bench-secret", "PYTHONPATH": str(ROOT),
           "RADOPS_VAR_DIR": str(BENCH_DIR / "kiosk"), "RADOPS_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "backend", "web", "--port", str(port)], cwd=ROOT, env=env,
                            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            return proc, f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("web process did not start")


def baseline(*, kiosks: int, patients: int, interval: float, modes: list[str]) -> None:
    """The same drive against bare Flask (a fixed answer, no database): the floor beside the real figure."""
    proc, base = _start("", "bare_flask")
    try:
        codes = [f"BARE{i:05d}" for i in range(patients + WARM_UP)]
        terminals = [(f"B{i:02d}", "none") for i in range(kiosks)]
        _drive(base, terminals, codes[:WARM_UP], kiosks=min(10, kiosks), interval=0.0)
        for mode in modes:
            pace = interval if mode == "paced" else 0.0
            figures = _drive(base, terminals, codes[WARM_UP:], kiosks=kiosks, interval=pace)
            emit("kiosk_checkin", db="none", server="bare_flask", mode=mode, kiosks=kiosks, interval_s=pace,
                 **figures, load_avg_1m=round(os.getloadavg()[0], 1), cpus=os.cpu_count())
    finally:
        proc.kill()
        proc.wait()


def run(url: str, *, kiosks: int, patients: int, interval: float, modes: list[str], server: str) -> None:
    mrns, terminals = _prepare(url, patients * len(modes) + WARM_UP, kiosks)
    proc, base = _start(url, server)
    try:
        httpx.get(f"{base}/api/health", timeout=30)  # the first request sets up Dash; keep it out of the figures
        # Warm-up, not counted: the first check-ins fill the connection pool and SQLAlchemy's statement cache.
        _drive(base, terminals, mrns[-WARM_UP:], kiosks=min(10, kiosks), interval=0.0)
        for n, mode in enumerate(modes):
            pace = interval if mode == "paced" else 0.0
            figures = _drive(base, terminals, mrns[n * patients:(n + 1) * patients], kiosks=kiosks, interval=pace)
            emit("kiosk_checkin", db=url.split(":", 1)[0], server=server, mode=mode, kiosks=kiosks, interval_s=pace,
                 **figures, load_avg_1m=round(os.getloadavg()[0], 1), cpus=os.cpu_count())
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--patients", type=int, default=1000, help="check-ins per mode")
    parser.add_argument("--interval", type=float, default=2.0, help="paced mode: seconds between a kiosk's check-ins")
    parser.add_argument("--server", choices=("werkzeug", "web"), default="werkzeug",
                        help="werkzeug: the threaded server of make run; web: python -m backend web (gunicorn, gevent)")
    parser.add_argument("--modes", default="paced,saturated", help="paced, saturated or both (comma-separated)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare Flask lines")
    a = parser.parse_args()
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"paced", "saturated"}:
        parser.error("--modes takes paced and/or saturated")
    url = normalize(a.database_url) if a.database_url else default_url(f"kiosk-{uuid.uuid4().hex[:6]}.db")
    run(url, kiosks=a.kiosks, patients=a.patients, interval=a.interval, modes=modes, server=a.server)
    if not a.no_baseline:
        baseline(kiosks=a.kiosks, patients=a.patients, interval=a.interval, modes=modes)


if __name__ == "__main__":
    main()
