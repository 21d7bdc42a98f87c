"""The real health cloud client: signed JSON calls and resumable chunked uploads over an injected
`httpx.Client`; failures become integrations.errors (nothing outside sees an httpx type).

Every request is signed afresh (new nonce and timestamp), so a retry is never refused as a replay. The
cloud is the one record of upload progress: a resume asks it for the acknowledged offset and sends only
the bytes after it, so a crash on our side loses nothing and sends nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar
from urllib.parse import quote, urlencode

import httpx

from backend.domain.errors import Conflict
from backend.ports.health_cloud import (
    CloudFile,
    CloudRegistration,
    CloudStoredStudy,
    CloudStudy,
    CloudUpload,
    CloudUploadReceipt,
    OldCloudRegistration,
)
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable
from integrations.health_cloud import mapping
from integrations.health_cloud.signing import EMPTY_SHA256, signed_headers
from integrations.health_cloud.throttle import Throttle

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
UNAVAILABLE: Final = "省健康云平台暂不可用，稍后自动重试"
CODE_DUPLICATE: Final = "20001"
CODE_OFFSET: Final = "30003"
CODE_STALE: Final = "40102"
PAGE_SIZE: Final = 200
INIT_BATCH: Final = 500


@dataclass(frozen=True)
class CloudCredentials:
    """The app the hospital was issued by the cloud; the secret is never shown, logged or sent."""

    app_id: str
    secret: str = field(repr=False)
    hospital_code: str


class _Transient(Exception):
    """One attempt failed in a way a later attempt may not (network, 5xx, 429, stale timestamp)."""


class _StaleSignature(_Transient):
    """The cloud refused our timestamp; it sent its own time, so the next attempt follows its clock."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, failures: int) -> float:
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** (failures - 1)))


class HttpHealthCloud:
    """HealthCloudIndex and HealthCloudTransfer over `httpx.Client(base_url=..., timeout=...)`."""

    def __init__(self, client: httpx.Client, credentials: CloudCredentials, *, chunk_size: int = 4 * 2**20,
                 bandwidth: int | None = None, retry: RetryPolicy | None = None,
                 clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client, self.credentials, self.chunk_size = client, credentials, chunk_size
        self.retry = retry or RetryPolicy()
        self.throttle = Throttle(bandwidth, sleep=sleep) if bandwidth else None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._skew_ms = 0
        self._lock = threading.Lock()

    # --- the index -----------------------------------------------------------------------------------

    def register_study(self, *, study: CloudStudy) -> CloudRegistration:
        """Register a study (注册入库); a study the cloud already has answers its existing id."""
        body = mapping.registration_body(study, hospital_code=self.credentials.hospital_code)
        try:
            data = self._call("POST", "/api/v1/studies/register", body=body)
        except PartnerRejected as exc:
            if exc.details.get("partner_code") != CODE_DUPLICATE:
                raise
            # The cloud refused the duplicate without its id: look the study up by its UID.
            data = self._call("GET", f"/api/v1/studies/{quote(study.study_uid)}",
                              query={"hospitalCode": self.credentials.hospital_code})
            return self._read(mapping.registration_from, data, duplicate=True)
        return self._read(mapping.registration_from, data)

    def list_studies(self, *, since: date | None = None) -> list[CloudStoredStudy]:
        """Every study the cloud keeps for this hospital (all pages)."""
        query = {"since": since.isoformat()} if since else {}
        return [self._read(mapping.stored_study_from, item) for item in self._pages("/api/v1/studies", query)]

    def old_registrations(self) -> list[OldCloudRegistration]:
        """The hospital's registrations made through the old interface (HC-8)."""
        return [self._read(mapping.old_registration_from, item)
                for item in self._pages("/api/v1/legacy/registrations", {})]

    def _pages(self, path: str, query: dict[str, str]) -> Iterator[dict[str, Any]]:
        page = 1
        while page <= 10_000:  # bounded: a cloud that never stops paging is a protocol error below
            data = self._call("GET", path, query={**query, "hospitalCode": self.credentials.hospital_code,
                                                  "page": str(page), "pageSize": str(PAGE_SIZE)})
            items = data.get("items") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise PartnerProtocolError("省健康云返回的列表格式不正确", raw=str(data)[:2000])
            yield from items
            if len(items) < PAGE_SIZE:
                return
            page += 1
        raise PartnerProtocolError("省健康云的分页没有结束")

    # --- the transfer --------------------------------------------------------------------------------

    def open_uploads(self, *, registration_id: str, files: Sequence[CloudFile]) -> list[CloudUpload]:
        """Open (or find again) one upload per file; each says how much the cloud already has."""
        out: list[CloudUpload] = []
        for start in range(0, len(files), INIT_BATCH):
            batch = files[start:start + INIT_BATCH]
            data = self._call("POST", "/api/v1/files/init",
                              body=mapping.init_body(registration_id, batch, chunk_size=self.chunk_size))
            out.extend(self._read(mapping.uploads_from, data, batch))
        return out

    def upload_file(self, *, upload: CloudUpload, source: Path | bytes,
                    on_progress: Callable[[int, int], None] | None = None) -> CloudUploadReceipt:
        """Send what the cloud lacks of one file, chunk by chunk; after a fault, ask the cloud where it
        stands and go on from its acknowledged offset."""
        size = upload.file.size
        if upload.complete:
            return CloudUploadReceipt(upload.upload_id, 0, upload.acknowledged, already_complete=True)
        if upload.acknowledged:
            logger.info("health cloud: upload %s resumes at byte %d of %d", upload.upload_id, upload.acknowledged,
                        size)
        ack, sent, failures = upload.acknowledged, 0, 0
        with _reader(source) as read:
            while True:
                piece = read(ack, min(upload.chunk_size, size - ack))
                if len(piece) != min(upload.chunk_size, size - ack):
                    raise Conflict("待上传的文件与登记时的大小不符，请重新登记", code="source_changed",
                                   upload_id=upload.upload_id)
                try:
                    state, new_ack = self._put_chunk(upload, ack, piece)
                except (_Transient, _OffsetMismatch) as exc:
                    failures = self._after_failure(upload.upload_id, ack, failures, exc)
                    state, new_ack = self._status(upload.upload_id)
                else:
                    if state != "completed" and new_ack <= ack:
                        raise PartnerProtocolError("省健康云确认的上传进度没有前进", raw=f"{state} {new_ack}")
                    sent, failures = sent + len(piece), 0
                ack = new_ack
                if on_progress is not None:
                    on_progress(ack, size)
                if state == "completed":
                    return CloudUploadReceipt(upload.upload_id, sent, upload.acknowledged, already_complete=False)

    def _after_failure(self, upload_id: str, offset: int, failures: int, exc: Exception) -> int:
        """Count one more failure in a row: give up past the retry budget, else pause before resuming."""
        failures += 1
        if failures >= self.retry.attempts:
            raise PartnerUnavailable(UNAVAILABLE, upload_id=upload_id) from exc
        logger.warning("health cloud: chunk at %d of upload %s failed (%s)", offset, upload_id, exc)
        self._sleep(self.retry.delay(failures))
        return failures

    def _put_chunk(self, upload: CloudUpload, offset: int, piece: bytes) -> tuple[str, int]:
        final = offset + len(piece) >= upload.file.size
        # A whole file in one chunk has the file's checksum, known already: no second pass over the bytes.
        digest = upload.file.sha256 if final and offset == 0 else hashlib.sha256(piece).hexdigest()
        query = {"offset": str(offset), **({"final": "1"} if final else {})}
        content: bytes | Iterator[bytes] = self.throttle.stream(piece) if self.throttle else piece
        try:
            data = self._attempt("PUT", f"/api/v1/files/{quote(upload.upload_id)}/chunks", query=query,
                                 content=content, digest=digest, length=len(piece))
        except PartnerRejected as exc:
            if exc.details.get("partner_code") == CODE_OFFSET:
                raise _OffsetMismatch(str(exc)) from exc
            raise
        return self._progress(data)

    def _status(self, upload_id: str) -> tuple[str, int]:
        return self._progress(self._call("GET", f"/api/v1/files/{quote(upload_id)}"))

    def _progress(self, data: Any) -> tuple[str, int]:
        try:
            return str(data["state"]), int(data["acknowledgedOffset"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PartnerProtocolError("省健康云返回的上传进度不完整", raw=str(data)[:2000]) from exc

    # --- one request ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None) -> Any:
        """One JSON call, retried on transient failures with a growing pause."""
        raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        digest = hashlib.sha256(raw).hexdigest() if raw else EMPTY_SHA256
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._attempt(method, path, query=query, content=raw, digest=digest, length=len(raw),
                                     json_body=body is not None)
            except _Transient as exc:
                if attempt == self.retry.attempts and isinstance(exc, _StaleSignature):
                    raise PartnerRejected("省健康云拒绝了请求签名（时间戳过期），请检查本机时间", path=path,
                                          partner_code=CODE_STALE) from exc
                if attempt == self.retry.attempts:
                    raise PartnerUnavailable(UNAVAILABLE, path=path, reason=str(exc)) from exc
                logger.warning("health cloud: %s %s failed (%s), attempt %d", method, path, exc, attempt)
                self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _attempt(self, method: str, path: str, *, query: dict[str, str] | None, content: bytes | Iterator[bytes],
                 digest: str, length: int, json_body: bool = False) -> Any:
        url = f"{path}?{urlencode(sorted(query.items()))}" if query else path
        headers = {"Content-Length": str(length)} if length or method in ("PUT", "POST") else {}
        if json_body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        request = self.client.build_request(method, url, content=content, headers=headers)
        request.headers.update(signed_headers(
            app_id=self.credentials.app_id, secret=self.credentials.secret, method=method,
            path=request.url.raw_path.decode("ascii"), body_sha256=digest, timestamp_ms=self._now_ms(),
            nonce=secrets.token_hex(16)))
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Any:
        try:
            envelope = response.json()
            code, message, data = str(envelope["code"]), str(envelope.get("message", "")), envelope.get("data")
        except (ValueError, KeyError, TypeError) as exc:
            if response.status_code >= 500:
                raise _Transient(f"HTTP {response.status_code}") from exc
            raise PartnerProtocolError("省健康云返回了无法识别的内容", status=response.status_code,
                                       raw=response.text[:2000]) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _Transient(f"HTTP {response.status_code} {code}")
        if code == CODE_STALE:
            self._resync(data)
            raise _StaleSignature("timestamp refused as stale")
        if code != "0" or response.status_code >= 400:
            raise PartnerRejected(f"省健康云拒绝了请求：{message or code}", partner_code=code,
                                  status=response.status_code, data=data, raw=response.text[:2000])
        return data

    def _resync(self, data: Any) -> None:
        """Follow the cloud's clock when it says our timestamp is stale (it sends its own time)."""
        server_ms = data.get("serverTime") if isinstance(data, dict) else None
        if isinstance(server_ms, int):
            with self._lock:
                self._skew_ms = server_ms - int(self._clock().timestamp() * 1000)

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000) + self._skew_ms

    def _read(self, reader: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return reader(*args, **kwargs)
        except (KeyError, ValueError, TypeError) as exc:
            raise PartnerProtocolError("省健康云返回的内容缺少必要字段", raw=str(args[0])[:2000]) from exc


class _OffsetMismatch(Exception):
    """The cloud holds a different offset than we sent from (it says which: ask its status)."""


@contextmanager
def _reader(source: Path | bytes) -> Iterator[Callable[[int, int], bytes]]:
    if isinstance(source, bytes):
        yield lambda offset, length: source[offset:offset + length]
        return
    with source.open("rb") as fh:
        def read(offset: int, length: int) -> bytes:
            fh.seek(offset)
            return fh.read(length)

        yield read
