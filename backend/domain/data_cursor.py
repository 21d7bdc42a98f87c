"""Opaque, signed keyset cursors for the data API: `base64url(JSON).base64url(HMAC-SHA256)`.

The signature keeps a platform from forging positions; the payload binds the cursor to its query
(dataset, filters, order, sync start), so a cursor reused with other parameters is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from backend.domain.errors import InvalidInput

_SIG_BYTES = 16


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sig(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES])


def sign(payload: dict[str, Any], secret: bytes) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    return f"{body}.{_sig(secret, body)}"


def _invalid(reason: str = "分页游标无效或已损坏") -> InvalidInput:
    return InvalidInput(reason, code="invalid_cursor")


def verify(token: str, secret: bytes, *, query: list[Any]) -> dict[str, Any]:
    """The cursor's payload, checked against its signature and against the query it is used with."""
    body, _, sig = token.strip().partition(".")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a forged cursor may carry them).
    expected = _sig(secret, body).encode()
    if not body or not sig or len(token) > 2048 or not hmac.compare_digest(sig.encode(), expected):
        raise _invalid()
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        raise _invalid() from None
    if not isinstance(payload, dict) or payload.get("q") != query:
        raise _invalid("分页游标与本次查询条件不一致，请不带 cursor 重新开始")
    return payload
