"""Requests per second of an authenticated JSON read (GET /api/exams?accession=...) on the real app, with a
session cookie and with an X-API-Key, against a bare Flask endpoint returning the same JSON; prints the ratio.

Each server runs in its own process (werkzeug, threaded) on a free loopback port; N httpx clients in threads.
    .venv/bin/python bench/bench_api_throughput.py [--database-url URL] [--clients 8] [--seconds 10]
The database is seeded with the demo hospital (60 days) when it has no exams yet.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

from _common import ROOT, default_url, emit, free_port, normalize

REAL = """
import os, sys, threading
from werkzeug.serving import make_server
import logging
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from backend.app import create_app
from backend.config import Settings
app = create_app(Settings(database_url=sys.argv[1], secret_key="bench-secret", start_scheduler=False))
from backend.entrypoints.heap import freeze_startup_heap
freeze_startup_heap()  # as the entrypoints do before serving
server = make_server("127.0.0.1", int(sys.argv[2]), app, threaded=True)
threading.Timer(float(sys.argv[3]), lambda: os._exit(0)).start()
print("READY", flush=True)
server.serve_forever()
"""
BARE = """
import json, os, sys, threading
from flask import Flask, jsonify
from werkzeug.serving import make_server
import logging
logging.getLogger("werkzeug").setLevel(logging.ERROR)
payload = json.loads(open(sys.argv[1], encoding="utf-8").read())
app = Flask("bare")
app.json.ensure_ascii = False
@app.get("/api/exams")
def exams():
    return jsonify(payload)
server = make_server("127.0.0.1", int(sys.argv[2]), app, threaded=True)
threading.Timer(float(sys.argv[3]), lambda: os._exit(0)).start()
print("READY", flush=True)
server.serve_forever()
"""


def _start(code: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"server did not start: {line!r}")
    return proc


def _prepare(url: str) -> tuple[str, str]:
    """Seed when empty; return (an accession of today, a fresh API key with exam.read)."""
    from sqlalchemy import create_engine, func, select

    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.db.models import Exam
    from backend.domain.actor import SYSTEM
    from backend.seed.history import seed_history
    from backend.seed.reference import seed_reference
    from backend.services import auth

    upgrade(url)
    settings = Settings(database_url=url)
    engine = create_engine(url)
    with engine.connect() as conn:
        if not conn.scalar(select(func.count()).select_from(Exam)):
            seed_reference(settings, seed=1, now=datetime.now(UTC))
            seed_history(settings, scale="demo", seed=1)
        accession = conn.scalar(select(Exam.accession).order_by(Exam.id.desc()).limit(1))
    engine.dispose()
    key = auth.create_api_key(build_services(settings), "bench", ["exam.read"], by=SYSTEM)
    return str(accession), key


def _drive(base: str, path: str, *, clients: int, seconds: float, headers: dict[str, str],
           cookies: dict[str, str]) -> dict[str, float]:
    """N clients in threads, each a keep-alive httpx.Client, for `seconds`; returns rates."""
    import httpx

    counts, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers, cookies=cookies, timeout=10) as c:
            while time.monotonic() < stop:
                r = c.get(path)
                if r.status_code == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {"requests": sum(counts), "errors": sum(errors), "rps": round(sum(counts) / elapsed, 1)}


def main() -> None:
    import httpx

    from backend.seed import DEMO_LOGINS

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", default=None, help="default: SQLite under var/bench/")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10)
    ns = ap.parse_args()
    url = normalize(ns.database_url or default_url("api_throughput.db"))
    accession, key = _prepare(url)
    life = str(ns.seconds * 4 + 120)
    real_port, bare_port = free_port(), free_port()
    real = _start(REAL, url, str(real_port), life)
    procs = [real]
    try:
        base = f"http://127.0.0.1:{real_port}"
        path = f"/api/exams?accession={accession}"
        password = {u: p for u, p, _ in DEMO_LOGINS}["clerk"]
        with httpx.Client(base_url=base, timeout=30) as c:
            c.post("/api/auth/login", json={"username": "clerk", "password": password}).raise_for_status()
            cookies = dict(c.cookies)
            body = c.get(path).json()
        payload_file = ROOT / "var" / "bench" / "api_payload.json"
        payload_file.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        procs.append(_start(BARE, str(payload_file), str(bare_port), life))
        size = len(json.dumps(body, ensure_ascii=False).encode())
        kw = {"clients": ns.clients, "seconds": ns.seconds}
        runs = {
            "real_session_cookie": _drive(base, path, headers={}, cookies=cookies, **kw),
            "real_api_key": _drive(base, path, headers={"X-API-Key": key}, cookies={}, **kw),
            "bare_flask": _drive(f"http://127.0.0.1:{bare_port}", path, headers={}, cookies={}, **kw),
        }
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)
    db = url.split("://", 1)[0]
    for target, r in runs.items():
        emit("api_throughput", database=db, target=target, clients=ns.clients, seconds=ns.seconds,
             body_bytes=size, **r)
    bare = runs["bare_flask"]["rps"] or 1.0
    emit("api_throughput_ratio", database=db, session_vs_bare=round(runs["real_session_cookie"]["rps"] / bare, 2),
         api_key_vs_bare=round(runs["real_api_key"]["rps"] / bare, 2), load_avg=round(os.getloadavg()[0], 1))


if __name__ == "__main__":
    main()
