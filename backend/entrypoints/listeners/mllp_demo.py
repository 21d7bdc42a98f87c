"""Demo: once the MLLP listener is up, the health-check emulator sends today's demo orders (PE-1..PE-3).

Control ids and placer numbers are derived from the date, so restarting the run the same day
only gets the stored ACKs back and never duplicates an exam. Off with the runtime setting
`health_check.demo_orders` (admin panel) on a production installation.
"""

from __future__ import annotations

import logging
import threading

from backend.entrypoints.background import NotStarted, Stoppable
from backend.services import settings_store
from backend.services.base import Services
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import MllpClient, build_message, demo_orders

logger = logging.getLogger(__name__)
DEMO_COUNT = 6


def send_demo_orders(svc: Services, *, host: str, port: int, count: int = DEMO_COUNT) -> list[str]:
    """Send today's demo orders over MLLP; return their ACK codes."""
    now = svc.clock().astimezone(svc.tz)
    codes = []
    with MllpClient(host, port) as client:
        for order, kind, codec in demo_orders(now.date(), count):
            ack = read_ack(client.send(build_message(order, at=now, kind=kind, codec=codec)))
            codes.append(ack.code)
            logger.info("demo health-check order %s -> %s", order.control_id, ack.code)
    return codes


class _DemoSender:
    def __init__(self, svc: Services, host: str, port: int) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(svc, host, port), name="hl7-demo", daemon=True)

    def _run(self, svc: Services, host: str, port: int) -> None:
        for _attempt in range(20):  # the listener starts in its own thread: give it a few seconds
            if self._stop.is_set():
                return
            try:
                send_demo_orders(svc, host=host, port=port)
                return
            except OSError:
                self._stop.wait(0.5)
        logger.warning("demo health-check orders not sent: no MLLP listener at %s:%s", host, port)

    def start(self) -> _DemoSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def start_demo_orders(svc: Services) -> tuple[Stoppable, str]:
    """Send a handful of 体检 orders for today through the real listener, so the exam list shows them."""
    if not settings_store.get(svc, "health_check.demo_orders"):
        return NotStarted(), "未发送（设置 health_check.demo_orders 已关闭）"
    host = svc.settings.mllp_host if svc.settings.mllp_host not in {"0.0.0.0", "::", ""} else "127.0.0.1"
    sender = _DemoSender(svc, host, svc.settings.mllp_port).start()
    return sender, f"{DEMO_COUNT} 条今日体检申请单经 MLLP 发送（已登记，检查列表可见）"
