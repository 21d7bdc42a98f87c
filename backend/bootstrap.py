"""Composition root: builds the engine, the services and the partner adapters from settings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from backend.config import Settings
from backend.db.session import make_engine, make_session_factory
from backend.domain.clock import Clock, system_clock
from backend.ports import InsuranceResolver, Notifier, NullNotifier, Ports
from backend.ports.cadre_health import CadreHealthSystem
from backend.ports.health_cloud import HealthCloud
from backend.ports.image_store import ImageStore
from backend.services import health
from backend.services.base import Services


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    session_factory: Any = None,
    ports: Ports | None = None,
) -> Services:
    """Wire the services for one process; tests pass their own clock, notifier, session factory and ports."""
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    svc = Services(
        settings=settings,
        session_factory=session_factory,
        clock=clock or system_clock,
        notifier=notifier or NullNotifier(),
        ports=ports if ports is not None else default_ports(settings),
    )
    # Outbound partners whose last success and last failure /api/health reports, under these names.
    observed = ObservedPort(svc, "医保平台", svc.ports.insurance)
    svc.ports = replace(svc.ports, insurance=cast(InsuranceResolver, observed))
    if svc.ports.cadre_health is not None:
        cadre = ObservedPort(svc, "干部保健系统", svc.ports.cadre_health)
        svc.ports = replace(svc.ports, cadre_health=cast(CadreHealthSystem, cadre))
    return svc


class ObservedPort:
    """A partner port whose every call's outcome is noted for /api/health (kept in memory, written with
    the process's heartbeat); calls and answers pass through unchanged."""

    def __init__(self, svc: Services, label: str, inner: Any) -> None:
        self._svc, self._label, self._inner = svc, label, inner

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = target(*args, **kwargs)
            except Exception as exc:
                health.note_partner(self._svc, self._label, error=f"{type(exc).__name__}: {exc}"[:200])
                raise
            health.note_partner(self._svc, self._label)
            return result

        return call


def default_ports(settings: Settings) -> Ports:
    """Real partner clients pointed at the URLs in settings (the emulators' loopback URLs in the demo)."""
    import httpx

    from integrations.insurance.client import HttpInsuranceResolver

    revocations = None
    if settings.redis_url:
        from backend.bus import RedisBus
        from backend.services.health import this_instance

        # Connects on first use; the process's housekeeping (entrypoints/process.py) subscribes to it.
        revocations = RedisBus(settings.redis_url, origin=this_instance())
    return Ports(
        insurance=HttpInsuranceResolver(httpx.Client(base_url=settings.insurance_url,
                                                     timeout=httpx.Timeout(5, connect=2))),
        revocations=revocations,
        **_health_check_ports(settings),
        images=image_store(settings),
        **_cadre_health_ports(settings),
        health_cloud=health_cloud(settings),
    )


def _health_check_ports(settings: Settings) -> dict[str, Any]:
    """The health-check center's result receiver (ORU^R01 over MLLP) and the order reader (issue 14.12-13)."""
    from zoneinfo import ZoneInfo

    from integrations.health_check.results import Er7OrderDecoder, MllpResultSender

    return {"health_check": MllpResultSender(settings.health_check_results_host, settings.health_check_results_port,
                                             charset=settings.health_check_results_charset,
                                             tz=ZoneInfo(settings.site_timezone)),
            "order_decoder": Er7OrderDecoder()}


def image_store(settings: Settings) -> ImageStore | None:
    """The archive's file storage by settings: S3-compatible object storage, or None (files under var/dicom)."""
    if settings.image_store != "s3":
        return None
    from integrations.object_storage.images import S3ImageStore
    from integrations.object_storage.s3 import make_client

    client = make_client(endpoint_url=settings.image_s3_endpoint, access_key=settings.image_s3_access_key,
                         secret_key=settings.image_s3_secret_key, region=settings.image_s3_region)
    return S3ImageStore(client, bucket=settings.image_s3_bucket, prefix=settings.image_s3_prefix)


def _cadre_health_ports(settings: Settings) -> dict[str, Any]:
    """The cadre-health system's client and its object storage (CD-1..CD-4); none when its URL is unset."""
    if not settings.cadre_health_url:
        return {}
    import httpx

    from integrations.cadre_health.client import HttpCadreHealthClient
    from integrations.object_storage.s3 import S3ObjectStore, make_client

    client = HttpCadreHealthClient(
        httpx.Client(base_url=settings.cadre_health_url, timeout=httpx.Timeout(10, connect=5)),
        client_id=settings.cadre_health_client_id, client_secret=settings.cadre_health_client_secret,
        org_code=settings.cadre_health_org_code, token_url=settings.cadre_health_token_url)
    s3 = make_client(endpoint_url=settings.cadre_s3_endpoint, access_key=settings.cadre_s3_access_key,
                     secret_key=settings.cadre_s3_secret_key, region=settings.cadre_s3_region)
    return {"cadre_health": client, "cadre_storage": S3ObjectStore(s3, bucket=settings.cadre_s3_bucket)}
def health_cloud(settings: Settings) -> HealthCloud | None:
    """The provincial health cloud's signed client (HC-1..HC-9), or None when no cloud URL is set."""
    if not settings.health_cloud_url:
        return None
    import httpx

    from integrations.health_cloud.client import CloudCredentials, HttpHealthCloud

    credentials = CloudCredentials(app_id=settings.health_cloud_app_id, secret=settings.health_cloud_secret,
                                   hospital_code=settings.health_cloud_hospital_code)
    client = httpx.Client(base_url=settings.health_cloud_url, timeout=httpx.Timeout(60, connect=5))
    return HttpHealthCloud(client, credentials, chunk_size=max(64, settings.health_cloud_chunk_kb) * 1024,
                           bandwidth=settings.health_cloud_bandwidth or None)
