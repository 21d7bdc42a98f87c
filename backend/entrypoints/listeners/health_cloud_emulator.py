"""The embedded run starts the provincial health cloud's emulator at `settings.health_cloud_url` (loopback
only), with the app id and secret of the settings, so the upload jobs have a cloud to talk to in the demo."""

from __future__ import annotations

from urllib.parse import urlsplit

from backend.entrypoints.background import NotStarted, Stoppable, port_failure
from backend.services.base import Services
from integrations.health_cloud.emulator import HealthCloudEmulator

LOOPBACK = {"127.0.0.1", "localhost"}


def start_health_cloud_emulator(svc: Services) -> tuple[Stoppable, str]:
    """Serve the cloud's interface (docs/health_cloud_interface.md) where the signed client points."""
    settings = svc.settings
    if not settings.health_cloud_url:
        return NotStarted(), "未启动（未配置省健康云地址）"
    url = urlsplit(settings.health_cloud_url)
    if url.hostname not in LOOPBACK:
        return NotStarted(), f"未启动（使用真实省健康云 {url.hostname}）"
    try:
        emulator = HealthCloudEmulator(host="127.0.0.1", port=url.port or 80,
                                       apps={settings.health_cloud_app_id: settings.health_cloud_secret},
                                       timezone=settings.site_timezone,
                                       store_bytes=False).start()  # sizes and checksums: the demo stays light
    except OSError as exc:
        raise port_failure("省健康云模拟", "127.0.0.1", url.port or 80, exc) from exc
    return emulator, f"{emulator.url}/api/v1（省健康云模拟，故障开关 POST /_emulator/faults）"
