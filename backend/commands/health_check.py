"""`python -m backend health-check-send FILE|--demo`: the health-check emulator sends real HL7 orders."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from backend.commands import Command
from backend.config import Settings


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", type=Path, help="ER7 file with one or more messages (UTF-8 or GB18030 bytes)")
    p.add_argument("--demo", action="store_true", help="send today's demo orders (ORM^O01/OMI^O23, UTF-8/GB18030)")
    p.add_argument("--host", help="listener address (default settings.mllp_host)")
    p.add_argument("--port", type=int, help="listener port (default settings.mllp_port, 2575)")
    p.add_argument("--count", type=int, default=6, help="with --demo: how many orders (default 6)")


def health_check_send(settings: Settings, ns: argparse.Namespace) -> int:
    from integrations.health_check.ack import read_ack
    from integrations.health_check.emulator import MllpClient, build_message, demo_orders, split_file

    if bool(ns.file) == bool(ns.demo):
        sys.stderr.write("give exactly one of FILE or --demo\n")
        return 2
    host, port = ns.host or settings.mllp_host, ns.port or settings.mllp_port
    if ns.demo:
        now = datetime.now(UTC).astimezone(ZoneInfo(settings.site_timezone))
        messages = [(o.control_id, build_message(o, at=now, kind=k, codec=c))
                    for o, k, c in demo_orders(now.date(), max(ns.count, 1))]
    else:
        messages = [("", raw) for raw in split_file(ns.file.read_bytes())]
    refused = 0
    with MllpClient(host, port) as client:
        for label, raw in messages:
            ack = read_ack(client.send(raw))
            refused += ack.code != "AA"
            sys.stdout.write(f"{label or ack.control_id}\t{ack.code}\t{ack.text}\n")
    return 1 if refused else 0


SEND = Command("health-check-send", "send health-check orders over MLLP as the 体检 system would, print each ACK",
               _args, health_check_send)


def _receive_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default settings.health_check_results_port, 2576)")
    p.add_argument("--fault", default="none", choices=("none", "ae", "ar"), help="answer AA, AE or AR")
    p.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (default: run until ^C)")


def health_check_receive(settings: Settings, ns: argparse.Namespace) -> int:
    import time

    from integrations.health_check.result_receiver import ResultReceiver, describe

    receiver = ResultReceiver(ns.host, ns.port or settings.health_check_results_port, fault=ns.fault).start()
    sys.stdout.write(f"体检结果接收模拟：mllp://{receiver.host}:{receiver.port}（应答 {ns.fault}）\n")
    sys.stdout.flush()
    shown, deadline = 0, time.monotonic() + ns.seconds if ns.seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            for r in receiver.results[shown:]:
                sys.stdout.write(describe(r) + "\n")
                shown += 1
            sys.stdout.flush()
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


RECEIVE = Command("health-check-receive", "receive report results (ORU^R01) over MLLP as the 体检 system would, "
                  "print each", _receive_args, health_check_receive)
