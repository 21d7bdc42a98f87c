"""A loopback stand-in for the insurance platform's ec.query: answers identities for demo vouchers.

Known vouchers are registered with `add_voucher`; any payload `EV:<id number>` also resolves (demo data).
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from backend.ports import InsuredPerson
from integrations.insurance.mapping import person_to_output

DEMO_PREFIX = "EV:"


class InsuranceEmulator:
    """Start with `start()`, stop with `stop()`; `url` is the base URL for HttpInsuranceResolver."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.vouchers: dict[str, InsuredPerson] = {}
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="insurance-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_voucher(self, qr_payload: str, person: InsuredPerson) -> None:
        self.vouchers[qr_payload] = person

    def lookup(self, qr_payload: str) -> InsuredPerson | None:
        if qr_payload in self.vouchers:
            return self.vouchers[qr_payload]
        if qr_payload.startswith(DEMO_PREFIX) and len(qr_payload) > len(DEMO_PREFIX):
            return InsuredPerson(id_no=qr_payload[len(DEMO_PREFIX):])
        return None

    def start(self) -> InsuranceEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(emulator: InsuranceEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: no request lines on stderr
            return None

        def do_POST(self) -> None:
            if self.path != "/ec/query":
                self._send(404, {"code": "404", "message": "not found"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                data = body["data"] if body.get("transType") == "ec.query" else None
            except (ValueError, KeyError, TypeError, AttributeError):
                data = None
            if not isinstance(data, dict):
                self._send(400, {"code": "400", "message": "bad request"})
                return
            emulator.requests.append(body)
            person = emulator.lookup(str(data.get("qrCode", "")))
            if person is None:
                self._send(200, {"code": "1001", "message": "电子凭证无效或已过期"})
                return
            self._send(200, {"code": "0", "message": "成功",
                             "data": person_to_output(person, token=secrets.token_hex(8))})

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler
