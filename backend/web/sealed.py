"""Values a page must hand back to the server later without the browser being able to read or change them
(the kiosk's identified code: an accession number or an e-voucher payload stays out of client state)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet(purpose: str) -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret + b"\0" + purpose.encode()).digest()))


def seal(value: dict[str, Any], *, purpose: str) -> str:
    """Encrypt and sign `value` for `purpose` (AES-CBC + HMAC, with its creation time)."""
    return _fernet(purpose).encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()


def unseal(token: str, *, purpose: str, max_age_s: int) -> dict[str, Any] | None:
    """The value sealed for `purpose` no longer than `max_age_s` ago, or None (forged, altered, expired)."""
    try:
        raw = _fernet(purpose).decrypt(token.encode(), ttl=max_age_s)
    except (InvalidToken, ValueError):
        return None
    return cast(dict[str, Any], json.loads(raw))
