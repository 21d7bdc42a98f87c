"""The cloud's request signature, shared by the client (signs) and the emulator (verifies).

HMAC-SHA256 with the app secret over five lines: method, path with query as sent, timestamp (ms),
nonce, and the SHA-256 of the body (hex). The secret itself never travels and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

APP_ID: Final = "X-App-Id"
TIMESTAMP: Final = "X-Timestamp"
NONCE: Final = "X-Nonce"
CONTENT_SHA256: Final = "X-Content-SHA256"
SIGNATURE: Final = "X-Signature"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body_sha256: str) -> str:
    return "\n".join((method.upper(), path, timestamp, nonce, body_sha256))


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body_sha256: str) -> str:
    text = string_to_sign(method, path, timestamp, nonce, body_sha256)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def signed_headers(*, app_id: str, secret: str, method: str, path: str, body_sha256: str, timestamp_ms: int,
                   nonce: str) -> dict[str, str]:
    """The five authentication headers of one request."""
    ts = str(timestamp_ms)
    return {APP_ID: app_id, TIMESTAMP: ts, NONCE: nonce, CONTENT_SHA256: body_sha256,
            SIGNATURE: signature(secret, method, path, ts, nonce, body_sha256)}


def verify(secret: str, method: str, path: str, headers: dict[str, str]) -> bool:
    expected = signature(secret, method, path, headers.get(TIMESTAMP, ""), headers.get(NONCE, ""),
                         headers.get(CONTENT_SHA256, ""))
    return hmac.compare_digest(expected, headers.get(SIGNATURE, ""))
