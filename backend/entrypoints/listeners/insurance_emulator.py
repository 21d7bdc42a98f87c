"""The embedded run starts the insurance e-voucher emulator at `settings.insurance_url` (loopback only)."""

from __future__ import annotations

from urllib.parse import urlsplit

from backend.entrypoints.background import NotStarted, Stoppable, port_failure
from backend.services.base import Services
from integrations.insurance.emulator import InsuranceEmulator

LOOPBACK = {"127.0.0.1", "localhost"}


def start_insurance_emulator(svc: Services) -> tuple[Stoppable, str]:
    """Serve ec.query for demo vouchers (`EV:<身份证号>`) where the kiosk's resolver points."""
    url = urlsplit(svc.settings.insurance_url)
    if url.hostname not in LOOPBACK:
        return NotStarted(), f"未启动（使用真实医保平台 {url.hostname}）"
    try:
        emulator = InsuranceEmulator(host="127.0.0.1", port=url.port or 80).start()
    except OSError as exc:
        raise port_failure("医保电子凭证模拟", "127.0.0.1", url.port or 80, exc) from exc
    return emulator, f"{emulator.url}/ec/query（演示凭证 EV:<身份证号>）"
