"""The embedded run starts the cadre-health system's emulator and its object storage (a moto S3 server) where
the settings point, when that is this machine (CD-1..CD-4); the emulator's roster holds the demo patients
flagged 保健对象, so their approved exams are accepted."""

from __future__ import annotations

from urllib.parse import urlsplit

from backend.entrypoints.background import NotStarted, Stoppable, port_failure
from backend.services.base import Services
from backend.services.cadre_health import roster
from integrations.cadre_health.emulator import CadreHealthEmulator
from integrations.object_storage.loopback import LoopbackS3
from integrations.object_storage.s3 import make_client

LOOPBACK = {"127.0.0.1", "localhost"}


class _Both:
    """The emulator and the S3 server, stopped together."""

    def __init__(self, *parts: Stoppable) -> None:
        self.parts = parts

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()


def start_cadre_health_emulator(svc: Services) -> tuple[Stoppable, str]:
    """Serve the token, roster, file-info and report endpoints, and S3 with the bucket, on loopback."""
    s = svc.settings
    api, oss = urlsplit(s.cadre_health_url), urlsplit(s.cadre_s3_endpoint)
    if not s.cadre_health_url or api.hostname not in LOOPBACK:
        return NotStarted(), f"未启动（使用真实干部保健系统 {api.hostname or '未配置'}）"
    try:
        emulator = CadreHealthEmulator("127.0.0.1", api.port or 80, client_id=s.cadre_health_client_id,
                                       client_secret=s.cadre_health_client_secret).start()
    except OSError as exc:
        raise port_failure("干部保健系统模拟", "127.0.0.1", api.port or 80, exc) from exc
    parts: list[Stoppable] = [emulator]
    for person in roster.flagged_people(svc):
        emulator.add_person(person)
    line = f"{emulator.url} 令牌、保健对象名单、影像文件信息与报告"
    if oss.hostname in LOOPBACK:
        try:
            s3 = LoopbackS3("127.0.0.1", oss.port or 80).start()
        except OSError as exc:
            emulator.stop()
            raise port_failure("干部保健对象存储模拟", "127.0.0.1", oss.port or 80, exc) from exc
        parts.append(s3)
        client = make_client(endpoint_url=s3.url, access_key=s.cadre_s3_access_key,
                             secret_key=s.cadre_s3_secret_key, region=s.cadre_s3_region)
        client.create_bucket(Bucket=s.cadre_s3_bucket,
                             CreateBucketConfiguration={"LocationConstraint": s.cadre_s3_region})
        line += f"；对象存储 {s3.url}/{s.cadre_s3_bucket}"
    return _Both(*parts), line
