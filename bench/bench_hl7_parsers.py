"""Parse speed of health-check orders: our ER7 reader against python-hl7 and hl7apy (evidence for the HL7
decision in docs/health_check_interface.md). Decoding by MSH-18 is counted for every reader. One JSON line each.

    .venv/bin/python bench/bench_hl7_parsers.py --messages 2000
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from _common import emit


def _orders(n: int) -> list[tuple[bytes, str]]:
    from integrations.health_check.emulator import HealthCheckOrder, build_message

    at = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    out = []
    for i in range(n):
        o = HealthCheckOrder(control_id=f"B{i:06d}", placer_order_no=f"P{i:06d}", mrn=f"M{i:06d}", name="欧阳秀兰",
                             item_code="CT-LDCT", sex="F", birth_date="19750821", id_card="330102198001011234",
                             requested_at="202611271000", clinical_info="年度体检|复查^肺结节\n吸烟史 30 年")
        codec = "gb18030" if i % 2 else "utf-8"
        out.append((build_message(o, at=at, kind="OMI" if i % 3 else "ORM", codec=codec), codec))
    return out


def _ours(raw: bytes, _codec: str) -> str:
    from integrations.health_check import er7

    return er7.decode(raw).first("PID").get(5)  # type: ignore[union-attr]


def _python_hl7(raw: bytes, codec: str) -> str:
    import hl7

    return str(hl7.parse(raw.decode(codec)).extract_field("PID", 1, 5, 1, 1))


def _hl7apy(raw: bytes, codec: str) -> str:
    from hl7apy.parser import parse_message

    return str(parse_message(raw.decode(codec), find_groups=False).pid.pid_5.pid_5_1.value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--hl7apy-messages", type=int, default=200, help="hl7apy is slow: fewer messages for it")
    args = ap.parse_args()
    everything = _orders(max(args.messages, args.hl7apy_messages))
    for name, parse, n in (("ours", _ours, args.messages), ("python-hl7", _python_hl7, args.messages),
                           ("hl7apy", _hl7apy, args.hl7apy_messages)):
        messages = everything[:n]
        parse(*messages[0])  # imports and caches outside the timing
        start = time.perf_counter()
        names = {parse(raw, codec) for raw, codec in messages}
        elapsed = time.perf_counter() - start
        emit("hl7_parse", reader=name, messages=len(messages), seconds=round(elapsed, 3),
             per_message_us=round(elapsed / len(messages) * 1e6, 1), names=sorted(names))


if __name__ == "__main__":
    main()
