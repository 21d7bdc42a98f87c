"""The embedded run starts the health-check center's result receiver (emulated) where results are sent
(`settings.health_check_results_host:port`, loopback only): approved 体检 reports arrive there as ORU^R01."""

from __future__ import annotations

from backend.entrypoints.background import NotStarted, Stoppable, port_failure
from backend.services.base import Services
from integrations.health_check.result_receiver import ResultReceiver

LOOPBACK = {"127.0.0.1", "localhost"}


def start_result_receiver(svc: Services) -> tuple[Stoppable, str]:
    """Receive and log results as the health-check center would (`health-check-receive` prints them)."""
    host, port = svc.settings.health_check_results_host, svc.settings.health_check_results_port
    if host not in LOOPBACK:
        return NotStarted(), f"未启动（使用真实体检系统 {host}:{port}）"
    try:
        receiver = ResultReceiver("127.0.0.1", port).start()
    except OSError as exc:
        raise port_failure("体检结果接收模拟", host, port, exc) from exc
    return receiver, f"mllp://{receiver.host}:{receiver.port} 体检报告结果 ORU^R01"
