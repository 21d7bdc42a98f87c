"""A loopback stand-in for the cadre-health system's medical-imaging interface (docs/cadre_health_interface.md).

Token endpoint (client credentials, tokens that expire), the roster of covered persons, the file-info and
report endpoints (idempotent on file id and on report id + version), and fault switches: slow, fail, drop,
duplicate, expired token. Start with `start()`, stop with `stop()`; `url` is the client's base URL.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from backend.ports.cadre_health import CoveredPerson
from integrations.cadre_health.emulator_state import EmulatorState
from integrations.cadre_health.mapping import OK, person_to_wire

FILE_FIELDS = ("orgCode", "fileId", "accessionNo", "idCardNo", "studyInstanceUid", "seriesInstanceUid",
               "sopInstanceUid", "bucket", "objectKey", "fileSize", "checksum")
REPORT_FIELDS = ("orgCode", "reportId", "version", "accessionNo", "idCardNo", "studyInstanceUid", "findings",
                 "impression", "approvedAt", "fileIds")


class CadreHealthEmulator:
    """The emulated system; `state` holds what it received, `set_faults` flips the fault switches."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, client_id: str = "radops",
                 client_secret: str = "radops-demo-secret", token_ttl_s: float = 7200,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.state = EmulatorState(client_id=client_id, client_secret=client_secret, token_ttl_s=token_ttl_s,
                                   clock=clock)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="cadre-health-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_person(self, person: CoveredPerson, *, updated_at: datetime | None = None) -> None:
        with self.state.lock:
            self.state.roster[person.id_no] = (person, updated_at)

    def set_faults(self, **switches: Any) -> None:
        """slow=seconds, fail=N, drop=N, duplicate=bool, expire_tokens=bool (see Faults)."""
        with self.state.lock:
            self.state.faults.update(switches)

    def start(self) -> CadreHealthEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _missing(body: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if body.get(f) in (None, "")]


def _handler_for(state: EmulatorState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: no request lines on stderr
            return None

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/_emulator/state":
                self._send(200, state.snapshot())
            elif url.path == "/api/v1/covered-persons":
                if self._admit():
                    self._roster(parse_qs(url.query))
            else:
                self._send(404, {"code": "404", "message": "not found"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if path == "/oauth2/token":
                self._token(raw)
            elif path == "/_emulator/faults":
                self._faults(raw)
            elif path in ("/api/v1/imaging/file-info", "/api/v1/imaging/report"):
                if self._admit():
                    self._post(path, raw)
            else:
                self._send(404, {"code": "404", "message": "not found"})

        def _admit(self) -> bool:
            """Slow and fail switches, then the bearer token; False when this request was answered already."""
            if state.faults.slow_s:
                time.sleep(state.faults.slow_s)
            if state.take("fail"):
                self._send(503, {"code": "5000", "message": "系统繁忙"})
                return False
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or not state.token_ok(auth[7:]):
                self._send(401, {"error": "invalid_token", "message": "令牌无效或已过期"})
                return False
            return True

        def _token(self, raw: bytes) -> None:
            form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            basic = self.headers.get("Authorization", "")
            if basic.startswith("Basic "):
                client_id, _, secret = base64.b64decode(basic[6:]).decode("utf-8", "replace").partition(":")
            if form.get("grant_type") != "client_credentials":
                self._send(400, {"error": "unsupported_grant_type"})
                return
            token = state.issue_token(client_id, secret)
            if token is None:
                self._send(401, {"error": "invalid_client"})
                return
            self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": int(state.token_ttl_s)})

        def _roster(self, query: dict[str, list[str]]) -> None:
            try:
                page, size = int(query.get("page", ["1"])[-1]), int(query.get("pageSize", ["500"])[-1])
                since = datetime.fromisoformat(query["updatedSince"][-1]) if "updatedSince" in query else None
            except ValueError:
                self._send(400, {"code": "1001", "message": "参数错误"})
                return
            with state.lock:
                people = [p for p, at in state.roster.values() if since is None or at is None or at > since]
            chosen = people[(page - 1) * size: page * size]
            self._send(200, {"code": OK, "message": "成功",
                             "data": {"total": len(people), "items": [person_to_wire(p) for p in chosen]}})

        def _post(self, path: str, raw: bytes) -> None:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            is_file = path.endswith("file-info")
            missing = _missing(body, FILE_FIELDS if is_file else REPORT_FIELDS) if isinstance(body, dict) else ["*"]
            if missing:
                self._send(400, {"code": "1001", "message": f"参数错误：缺少 {', '.join(missing)}"})
                return
            assert isinstance(body, dict)
            if body["idCardNo"] not in state.roster:
                self._send(200, {"code": "1002", "message": "非保健对象"})
                return
            if not is_file and any(f not in state.files for f in body["fileIds"]):
                self._send(200, {"code": "1003", "message": "关联的影像文件信息尚未上传"})
                return
            key = body["fileId"] if is_file else (body["reportId"], int(body["version"]))
            record_id, duplicate = state.store("file" if is_file else "report", key, body)
            if state.take("drop"):
                self.close_connection = True  # stored, but the answer never reaches the client
                return
            self._send(200, {"code": OK, "message": "成功", "data": {"recordId": record_id, "duplicate": duplicate}})

        def _faults(self, raw: bytes) -> None:
            try:
                changes = json.loads(raw or b"{}")
                with state.lock:
                    state.faults.update(changes)
            except (ValueError, TypeError, AttributeError):
                self._send(400, {"message": "unknown fault switch"})
                return
            self._send(200, state.snapshot()["faults"])

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
