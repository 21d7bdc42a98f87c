"""The client-credentials token of the cadre-health system: cached, renewed before it expires, renewed
once after a 401, and fetched by one thread at a time (others wait and share it). Never logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Renew this long before the advertised expiry (at most a tenth of the token's lifetime).
MARGIN_S = 60.0


class TokenCache:
    """Holds one token; `fetch` returns (token, lifetime in seconds) from the token endpoint."""

    def __init__(self, fetch: Callable[[], tuple[str, float]], *, clock: Callable[[], float] = time.monotonic,
                 margin_s: float = MARGIN_S) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin_s
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = 0.0

    def __repr__(self) -> str:  # a token must never reach a log through repr()
        return f"TokenCache(held={bool(self._token)})"

    def get(self) -> str:
        """A token that is not about to expire, fetching one when needed (one thread fetches)."""
        with self._lock:
            if not self._token or self._clock() >= self._renew_at:
                self._renew()
            return self._token

    def refresh(self, stale: str) -> str:
        """After the system refused `stale`: fetch a new token, unless another thread already did."""
        with self._lock:
            if self._token == stale or not self._token:
                self._renew()
            return self._token

    def _renew(self) -> None:
        token, lifetime = self._fetch()
        self._token = token
        self._renew_at = self._clock() + max(0.0, lifetime - min(self._margin, lifetime / 10))
