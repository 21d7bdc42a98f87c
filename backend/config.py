"""Settings: one frozen value built from the environment by a pure function, passed down."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{ROOT / 'var' / 'radops.db'}"
    redis_url: str | None = None
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    site_timezone: str = "Asia/Shanghai"
    hospital_name: str = "省肿瘤医院"
    department_name: str = "放射科"
    var_dir: Path = ROOT / "var"
    layouts_dir: Path = ROOT / "layouts"
    testing: bool = False
    # Where the run command starts the emulated partners and listeners.
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    dicom_port: int = 11112
    start_scheduler: bool = True
    session_cookie_secure: bool = False
    # The insurance platform's e-voucher endpoint (the embedded run starts its emulator here).
    insurance_url: str = "http://127.0.0.1:8731"
    # Reverse proxies in front of a web process that set X-Forwarded-For/-Proto (audit rows then carry
    # the browser's address, not the proxy's); 0 trusts no such header.
    proxy_hops: int = 0
    # The lung-nodule reconstruction system (LN-7): its DICOM node, where it sends its results, and the
    # emulator's fault switch (none, slow, refuse, refuse_store, partial, nothing) and delay for "slow".
    recon_ae_title: str = "RECON"
    recon_host: str = "127.0.0.1"
    recon_port: int = 11113
    recon_destination_ae: str = "RADOPS"
    recon_destination_host: str = "127.0.0.1"
    recon_destination_port: int = 11112
    recon_fault: str = "none"
    recon_delay_s: float = 30.0
    # RadOps' side of LN-4..LN-7: the exam items that use the flow (comma-separated codes), how long the
    # results may take after the source was sent (then 重建超时), and the send job's attempts and first back-off.
    recon_items: str = "CT-LN-TR"
    recon_deadline_s: float = 1800.0
    recon_send_attempts: int = 6
    recon_retry_first_s: float = 30.0
    # A remote archive of prior images (LN-4): the AE title of a known DICOM node asked by Study Root C-FIND for
    # the patient's priors (a linked remote series is fetched by C-GET before sending); "" = the local index only.
    recon_prior_archive_ae: str = ""
    recon_prior_archive_timeout_s: float = 10.0
    # The health-check center's result receiver (issue 14.13): ORU^R01 over MLLP, in this MSH-18 charset (table
    # 0211); the report PDF goes as ED (base64) unless a URL template (with {exam_id}, {accession}) is set.
    health_check_results_host: str = "127.0.0.1"
    health_check_results_port: int = 2576
    health_check_results_charset: str = "UNICODE UTF-8"
    health_check_pdf_url: str = ""
    # The DICOM services (issue 10): our AE title and address, association and network timeouts, the
    # largest instance accepted, what a second copy with other bytes does (keep / replace), how many
    # quiet seconds make a series complete and a study received, and where the files live (file under
    # var/dicom, or s3 with the bucket settings).
    dicom_ae_title: str = "RADOPS"
    dicom_host: str = "127.0.0.1"
    dicom_timeout_s: float = 30.0
    dicom_max_instance_mb: int = 2048
    dicom_duplicate_policy: str = "keep"
    dicom_study_quiet_s: float = 60.0
    image_store: str = "file"
    image_s3_endpoint: str = ""
    image_s3_bucket: str = "radops-images"
    image_s3_prefix: str = "dicom/"
    image_s3_region: str = "cn-hangzhou"
    image_s3_access_key: str = ""
    image_s3_secret_key: str = ""
    # The provincial cadre-health system (CD-1..CD-4): its base URL ("" turns the uploads off), the token
    # endpoint (absolute, or a path on the base URL), the client credentials, our organisation code, and the
    # government-network object storage (S3 protocol) the original files go to. The embedded run starts the
    # emulator and a moto S3 server where these point at loopback. Secrets stay out of repr() and the logs.
    cadre_health_url: str = "http://127.0.0.1:8741"
    cadre_health_token_url: str = "/oauth2/token"
    cadre_health_client_id: str = "radops"
    cadre_health_client_secret: str = field(default="radops-demo-secret", repr=False)
    cadre_health_org_code: str = "H33010000001"
    cadre_s3_endpoint: str = "http://127.0.0.1:8742"
    cadre_s3_bucket: str = "cadre-oss"
    cadre_s3_prefix: str = "cadre"
    cadre_s3_region: str = "cn-hangzhou"
    cadre_s3_access_key: str = "radops"
    cadre_s3_secret_key: str = field(default="radops-demo-secret", repr=False)
    # The provincial health cloud (HC-1..HC-9): where it is, the app the hospital was issued (the secret is a
    # setting, never shown or logged), the hospital's code, the chunk size and a bandwidth limit in bytes/s
    # (0: none). An empty URL: no cloud. The embedded run starts the emulator at a loopback URL.
    health_cloud_url: str = "http://127.0.0.1:8751"
    health_cloud_app_id: str = "radops-demo"
    health_cloud_secret: str = field(default="demo-secret-change-me", repr=False)
    health_cloud_hospital_code: str = "H33010001"
    health_cloud_chunk_kb: int = 4096
    health_cloud_bandwidth: int = 0
    # The embedded demo (the default): demo passwords may stay. 0 in production: whoever signs in with a
    # demo or admin-set password must choose a new one first.
    demo: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _bool(v: str | None, default: bool) -> bool:
    if v is None:
        return default
    return v.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"环境变量 {name} 必须是整数：{raw!r}") from None


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping (RADOPS_* and a few conventional names)."""
    base = Settings()
    var_dir = Path(env.get("RADOPS_VAR_DIR", str(base.var_dir)))
    secret = env.get("RADOPS_SECRET_KEY", "")
    return Settings(
        database_url=env.get("DATABASE_URL", f"sqlite:///{var_dir / 'radops.db'}"),
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret,
        host=env.get("RADOPS_HOST", base.host),
        port=_int(env, "RADOPS_PORT", base.port),
        site_timezone=env.get("RADOPS_TIMEZONE", base.site_timezone),
        hospital_name=env.get("RADOPS_HOSPITAL_NAME", base.hospital_name),
        var_dir=var_dir,
        layouts_dir=Path(env.get("RADOPS_LAYOUTS_DIR", str(base.layouts_dir))),
        mllp_host=env.get("RADOPS_MLLP_HOST", base.mllp_host),
        mllp_port=_int(env, "RADOPS_MLLP_PORT", base.mllp_port),
        dicom_port=_int(env, "RADOPS_DICOM_PORT", base.dicom_port),
        start_scheduler=_bool(env.get("RADOPS_SCHEDULER"), True),
        session_cookie_secure=_bool(env.get("RADOPS_SECURE_COOKIES"), False),
        insurance_url=env.get("RADOPS_INSURANCE_URL", base.insurance_url),
        proxy_hops=_int(env, "RADOPS_PROXY_HOPS", 0),
        recon_ae_title=env.get("RADOPS_RECON_AE_TITLE", base.recon_ae_title),
        recon_host=env.get("RADOPS_RECON_HOST", base.recon_host),
        recon_port=_int(env, "RADOPS_RECON_PORT", base.recon_port),
        recon_destination_ae=env.get("RADOPS_RECON_DESTINATION_AE", base.recon_destination_ae),
        recon_destination_host=env.get("RADOPS_RECON_DESTINATION_HOST", base.recon_destination_host),
        recon_destination_port=_int(env, "RADOPS_RECON_DESTINATION_PORT",
                                    _int(env, "RADOPS_DICOM_PORT", base.recon_destination_port)),
        recon_fault=env.get("RADOPS_RECON_FAULT", base.recon_fault),
        recon_delay_s=float(env.get("RADOPS_RECON_DELAY_S", base.recon_delay_s)),
        recon_items=env.get("RADOPS_RECON_ITEMS", base.recon_items),
        recon_deadline_s=float(env.get("RADOPS_RECON_DEADLINE_S", base.recon_deadline_s)),
        recon_send_attempts=_int(env, "RADOPS_RECON_SEND_ATTEMPTS", base.recon_send_attempts),
        recon_retry_first_s=float(env.get("RADOPS_RECON_RETRY_FIRST_S", base.recon_retry_first_s)),
        recon_prior_archive_ae=env.get("RADOPS_RECON_PRIOR_ARCHIVE_AE", base.recon_prior_archive_ae).strip(),
        recon_prior_archive_timeout_s=float(env.get("RADOPS_RECON_PRIOR_ARCHIVE_TIMEOUT_S",
                                                    base.recon_prior_archive_timeout_s)),
        health_check_results_host=env.get("RADOPS_HEALTH_CHECK_RESULTS_HOST", base.health_check_results_host),
        health_check_results_port=_int(env, "RADOPS_HEALTH_CHECK_RESULTS_PORT", base.health_check_results_port),
        health_check_results_charset=env.get("RADOPS_HEALTH_CHECK_RESULTS_CHARSET",
                                             base.health_check_results_charset),
        health_check_pdf_url=env.get("RADOPS_HEALTH_CHECK_PDF_URL", base.health_check_pdf_url),
        dicom_ae_title=env.get("RADOPS_DICOM_AE_TITLE", base.dicom_ae_title),
        dicom_host=env.get("RADOPS_DICOM_HOST", base.dicom_host),
        dicom_timeout_s=float(env.get("RADOPS_DICOM_TIMEOUT_S", base.dicom_timeout_s)),
        dicom_max_instance_mb=_int(env, "RADOPS_DICOM_MAX_INSTANCE_MB", base.dicom_max_instance_mb),
        dicom_duplicate_policy=env.get("RADOPS_DICOM_DUPLICATE_POLICY", base.dicom_duplicate_policy),
        dicom_study_quiet_s=float(env.get("RADOPS_DICOM_STUDY_QUIET_S", base.dicom_study_quiet_s)),
        image_store=env.get("RADOPS_IMAGE_STORE", base.image_store),
        image_s3_endpoint=env.get("RADOPS_IMAGE_S3_ENDPOINT", base.image_s3_endpoint),
        image_s3_bucket=env.get("RADOPS_IMAGE_S3_BUCKET", base.image_s3_bucket),
        image_s3_prefix=env.get("RADOPS_IMAGE_S3_PREFIX", base.image_s3_prefix),
        image_s3_region=env.get("RADOPS_IMAGE_S3_REGION", base.image_s3_region),
        image_s3_access_key=env.get("RADOPS_IMAGE_S3_ACCESS_KEY", base.image_s3_access_key),
        image_s3_secret_key=env.get("RADOPS_IMAGE_S3_SECRET_KEY", base.image_s3_secret_key),
        cadre_health_url=env.get("RADOPS_CADRE_URL", base.cadre_health_url),
        cadre_health_token_url=env.get("RADOPS_CADRE_TOKEN_URL", base.cadre_health_token_url),
        cadre_health_client_id=env.get("RADOPS_CADRE_CLIENT_ID", base.cadre_health_client_id),
        cadre_health_client_secret=env.get("RADOPS_CADRE_CLIENT_SECRET", base.cadre_health_client_secret),
        cadre_health_org_code=env.get("RADOPS_CADRE_ORG_CODE", base.cadre_health_org_code),
        cadre_s3_endpoint=env.get("RADOPS_CADRE_S3_ENDPOINT", base.cadre_s3_endpoint),
        cadre_s3_bucket=env.get("RADOPS_CADRE_S3_BUCKET", base.cadre_s3_bucket),
        cadre_s3_prefix=env.get("RADOPS_CADRE_S3_PREFIX", base.cadre_s3_prefix),
        cadre_s3_region=env.get("RADOPS_CADRE_S3_REGION", base.cadre_s3_region),
        cadre_s3_access_key=env.get("RADOPS_CADRE_S3_ACCESS_KEY", base.cadre_s3_access_key),
        cadre_s3_secret_key=env.get("RADOPS_CADRE_S3_SECRET_KEY", base.cadre_s3_secret_key),
        health_cloud_url=env.get("RADOPS_HEALTH_CLOUD_URL", base.health_cloud_url),
        health_cloud_app_id=env.get("RADOPS_HEALTH_CLOUD_APP_ID", base.health_cloud_app_id),
        health_cloud_secret=env.get("RADOPS_HEALTH_CLOUD_SECRET", base.health_cloud_secret),
        health_cloud_hospital_code=env.get("RADOPS_HEALTH_CLOUD_HOSPITAL_CODE", base.health_cloud_hospital_code),
        health_cloud_chunk_kb=_int(env, "RADOPS_HEALTH_CLOUD_CHUNK_KB", base.health_cloud_chunk_kb),
        health_cloud_bandwidth=_int(env, "RADOPS_HEALTH_CLOUD_BANDWIDTH", base.health_cloud_bandwidth),
        demo=_bool(env.get("RADOPS_DEMO"), True),
        extra={k: v for k, v in env.items() if k.startswith("RADOPS_X_")},
    )


def ensure_secret(settings: Settings) -> Settings:
    """Entrypoints only: keep one random secret per installation under var/ when none is set."""
    if settings.secret_key:
        return settings
    path = settings.var_dir / "secret_key"
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
    return settings.with_(secret_key=key)
