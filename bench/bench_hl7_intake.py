"""HL7 intake throughput: health-check orders per second over MLLP, each answered by its ACK (PE-1, PE-2).

Starts the real listener on a free loopback port against a fresh database, then sends ORM^O01 / OMI^O23
orders (UTF-8 and GB18030, alternating) over one connection and over several at once. One JSON line each.

    .venv/bin/python bench/bench_hl7_intake.py --messages 1000 --connections 4
    .venv/bin/python bench/bench_hl7_intake.py --database-url postgresql://postgres@127.0.0.1/radops_bench
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime

from _common import default_url, emit, normalize, percentile

ITEMS = ["DR-CHEST", "US-THYROID", "US-ABD", "CT-LDCT", "MG-BILAT", "US-BREAST"]


def _fresh(url: str) -> None:
    from bench_seed import _fresh as fresh

    fresh(url)


def _orders(prefix: str, n: int, at: datetime) -> list[bytes]:
    from integrations.health_check.emulator import HealthCheckOrder, build_message

    out = []
    for i in range(n):
        o = HealthCheckOrder(control_id=f"{prefix}{i:06d}", placer_order_no=f"{prefix}P{i:06d}",
                             mrn=f"{prefix}{i:06d}"[-20:], name="欧阳秀兰", item_code=ITEMS[i % len(ITEMS)], sex="F",
                             birth_date="19750821", requested_at=at.strftime("%Y%m%d%H%M"))
        out.append(build_message(o, at=at, kind="OMI" if i % 2 else "ORM", codec="gb18030" if i % 3 else "utf-8"))
    return out


def _send(port: int, messages: list[bytes], latencies: list[float], codes: list[str]) -> None:
    from integrations.health_check.ack import read_ack
    from integrations.health_check.emulator import MllpClient

    with MllpClient("127.0.0.1", port, timeout=60) as client:
        for raw in messages:
            t0 = time.perf_counter()
            codes.append(read_ack(client.send(raw)).code)
            latencies.append(time.perf_counter() - t0)


def _run(port: int, batches: list[list[bytes]]) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    codes: list[str] = []
    threads = [threading.Thread(target=_send, args=(port, b, latencies, codes)) for b in batches]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, codes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=default_url("hl7_intake.db"))
    p.add_argument("--messages", type=int, default=1000, help="messages per run")
    p.add_argument("--connections", type=int, default=4, help="connections of the concurrent run")
    ns = p.parse_args()
    url = normalize(ns.database_url)
    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.entrypoints.listeners.mllp import start_listener
    from backend.seed.reference import seed_reference

    _fresh(url)
    upgrade(url)
    now = datetime.now(UTC)
    seed_reference(Settings(database_url=url), seed=1, now=now)
    svc = build_services(Settings(database_url=url))
    server = start_listener(svc, host="127.0.0.1", port=0)
    try:
        for conns, prefix in ((1, "B1-"), (ns.connections, "BN-")):
            per = max(ns.messages // conns, 1)
            batches = [_orders(f"{prefix}{c}-", per, now) for c in range(conns)]
            elapsed, lat, codes = _run(server.port, batches)
            emit("hl7_intake", database=url.split("://", 1)[0].split("+")[0], connections=conns,
                 messages=len(codes), accepted=codes.count("AA"), seconds=round(elapsed, 2),
                 per_s=round(len(codes) / elapsed, 1), p50_ms=round(percentile(lat, 50) * 1000, 1),
                 p95_ms=round(percentile(lat, 95) * 1000, 1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
