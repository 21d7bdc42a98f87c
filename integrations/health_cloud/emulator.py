"""A loopback stand-in for the provincial health cloud: signed requests, registration (注册入库), chunked
resumable uploads with checksums, listing, the old interface's records, a real three-month window by its own
clock, and fault switches (slow, 5xx, dropped connections, duplicates, stale signatures).

API: docs/health_cloud_interface.md. Run alone: `python -m integrations.health_cloud.emulator --port 8751`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from integrations.health_cloud import signing
from integrations.health_cloud.emulator_routes import admin, route
from integrations.health_cloud.emulator_state import CloudError, CloudState, LegacyRecord

DEMO_APP_ID, DEMO_SECRET = "radops-demo", "demo-secret-change-me"
TIMESTAMP_TOLERANCE_MS = 300_000
NONCE_MEMORY = timedelta(minutes=15)
READ_BLOCK = 256 * 1024
CHUNK_PATH = re.compile(r"^/api/v1/files/(?P<id>[^/]+)/chunks$")


@dataclass
class Faults:
    """Switches the tests and the demo flip (also through POST /_emulator/faults)."""

    slow_ms: int = 0
    fail_rate: float = 0.0
    fail_next: int = 0
    drop_chunk_rate: float = 0.0
    drop_chunk_next: int = 0
    lose_reply_next: int = 0
    duplicate_as_error: bool = False
    expire_next: int = 0


class HealthCloudEmulator:
    """Start with `start()`, stop with `stop()`; `url` is the base URL for HttpHealthCloud."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, apps: dict[str, str] | None = None,
                 clock: Callable[[], datetime] | None = None, timezone: str = "Asia/Shanghai",
                 window_months: int = 3, store_bytes: bool = True, seed: int = 12) -> None:
        self.apps = dict(apps or {DEMO_APP_ID: DEMO_SECRET})
        self.state = CloudState(tz=ZoneInfo(timezone), window_months=window_months, store_bytes=store_bytes)
        self.faults = Faults()
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=10_000)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)
        self._random = random.Random(seed)
        self._nonces: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-cloud-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HealthCloudEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- the emulator's clock and the retention it drives ------------------------------------------

    def now(self) -> datetime:
        return self._clock() + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move the cloud's own clock (its retention job runs on the next request)."""
        self._offset += delta
        self.state.purge(self.now())

    def set_now(self, at: datetime) -> None:
        self._offset = at - self._clock()
        self.state.purge(self.now())

    # --- switches and inspection -------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> None:
        known = {f.name for f in fields(Faults)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        with self._lock:
            for name, value in changes.items():
                setattr(self.faults, name, value)

    def take(self, counter: str, rate: str | None = None) -> bool:
        """Whether this request trips a fault: a pending count first, then the random fraction."""
        with self._lock:
            if getattr(self.faults, counter) > 0:
                setattr(self.faults, counter, getattr(self.faults, counter) - 1)
                return True
            return bool(rate) and self._random.random() < getattr(self.faults, rate or "")

    def add_legacy(self, *records: LegacyRecord) -> None:
        with self.state.lock:
            for record in records:
                self.state.legacy[record.old_cloud_id] = record

    def records_for(self, study_uid: str) -> int:
        """How many records the cloud shows for a study: new registrations plus unlinked old ones (HC-8)."""
        with self.state.lock:
            new = [s for s in self.state.studies.values() if s.study_uid == study_uid]
            linked = {s.old_cloud_id for s in new}
            old = [r for r in self.state.legacy.values() if r.study_uid == study_uid and r.old_cloud_id not in linked]
            return len(new) + len(old)

    def stored_file(self, study_uid: str, sop_instance_uid: str) -> bytes | None:
        with self.state.lock:
            for study in self.state.studies.values():
                if study.study_uid == study_uid:
                    return study.files.get(sop_instance_uid)
        return None

    def check_nonce(self, nonce: str, at: datetime) -> bool:
        """Remember `nonce`; False when it was already used within the memory window (a replay)."""
        with self._lock:
            if len(self._nonces) > 10_000:
                self._nonces = {n: t for n, t in self._nonces.items() if t > at - NONCE_MEMORY}
            if not nonce or nonce in self._nonces:
                return False
            self._nonces[nonce] = at
            return True

    def authenticate(self, method: str, raw_path: str, headers: dict[str, str], digest: str) -> None:
        """Check the signed-request headers against the body's SHA-256; raise CloudError (401) if wrong."""
        secret = self.apps.get(headers.get(signing.APP_ID, ""))
        if secret is None:
            raise CloudError("40101", "应用不存在或未授权", http=401)
        now = self.now()
        now_ms = int(now.timestamp() * 1000)
        try:
            stamp = int(headers.get(signing.TIMESTAMP, ""))
        except ValueError:
            stamp = 0
        if abs(now_ms - stamp) > TIMESTAMP_TOLERANCE_MS or self.take("expire_next"):
            raise CloudError("40102", "请求时间戳已过期，请校准时间", http=401, data={"serverTime": now_ms})
        if digest != headers.get(signing.CONTENT_SHA256):
            raise CloudError("40103", "请求体摘要不符", http=401)
        if not signing.verify(secret, method, raw_path, headers):
            raise CloudError("40105", "签名错误", http=401)
        if not self.check_nonce(headers.get(signing.NONCE, ""), now):
            raise CloudError("40104", "重复的请求（nonce 已使用）", http=401)


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-request (the dropped-connection faults do that) is not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(emulator: HealthCloudEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this the header and body writes meet Nagle's algorithm and delayed ACKs: 40 ms a request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet: no request lines on stderr
            return None

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            path, query = unquote(split.path), {k: v[-1] for k, v in parse_qs(split.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            if emulator.faults.slow_ms:
                time.sleep(emulator.faults.slow_ms / 1000)
            m = CHUNK_PATH.match(path) if method == "PUT" else None
            if m and emulator.take("drop_chunk_next", "drop_chunk_rate"):
                self.rfile.read(length // 2)
                emulator.state.chunk_log.append((m["id"], int(query.get("offset", "-1")), length // 2, "dropped"))
                self._drop()
                return
            body, digest = self._read_body(length)
            if path.startswith("/_emulator/"):
                self._run(lambda: admin(emulator, method, path, json.loads(body or b"{}")))
                return
            if emulator.take("fail_next", "fail_rate"):
                self._send(503, {"code": "50301", "message": "服务繁忙，请稍后重试"})
                return
            lose = emulator.take("lose_reply_next")
            emulator.state.purge(emulator.now())
            self._run(lambda: route(emulator, method, path, query, self.path, dict(self.headers.items()), body,
                                    digest), lose_reply=lose)

        def _read_body(self, length: int) -> tuple[bytes, str]:
            """The body and its SHA-256, hashed block by block while the rest is still arriving."""
            hasher, parts, left = hashlib.sha256(), [], length
            while left > 0:
                block = self.rfile.read(min(left, READ_BLOCK))
                if not block:
                    break
                hasher.update(block)
                parts.append(block)
                left -= len(block)
            return b"".join(parts), hasher.hexdigest()

        def _run(self, action: Callable[[], Any], *, lose_reply: bool = False) -> None:
            try:
                status, payload = 200, {"code": "0", "message": "成功", "data": action()}
            except CloudError as exc:
                status, payload = exc.http, {"code": exc.code, "message": exc.message, "data": exc.data}
            except (ValueError, TypeError, KeyError) as exc:
                status, payload = 400, {"code": "10001", "message": f"请求格式不正确：{exc}", "data": None}
            emulator.requests.append((self.command, self.path, status))
            if lose_reply:  # the work is done but the answer never arrives
                self._drop()
                return
            self._send(status, payload)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may have gone already
                self.connection.shutdown(socket.SHUT_RDWR)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the health cloud emulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8751)
    parser.add_argument("--app-id", default=DEMO_APP_ID)
    parser.add_argument("--secret", default=DEMO_SECRET)
    parser.add_argument("--window-months", type=int, default=3)
    parser.add_argument("--no-store-bytes", action="store_true", help="keep sizes and checksums, not the bytes")
    args = parser.parse_args(argv)
    emulator = HealthCloudEmulator(args.host, args.port, apps={args.app_id: args.secret},
                                   window_months=args.window_months, store_bytes=not args.no_store_bytes)
    emulator.start()
    sys.stdout.write(f"health cloud emulator on {emulator.url}\n")  # the command's one line, as the CLI commands do
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
