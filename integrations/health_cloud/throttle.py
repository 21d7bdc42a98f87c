"""A bandwidth limit in bytes per second, shared by every upload of one client (threads included)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

BLOCK = 64 * 1024


class Throttle:
    """Paces blocks so that the bytes sent through it never average more than `rate` per second."""

    def __init__(self, rate: int, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("the bandwidth limit must be positive")
        self.rate = rate
        self._monotonic, self._sleep = monotonic, sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def pace(self, size: int) -> None:
        """Wait for the slot of `size` bytes: slots follow each other at `rate`, across threads."""
        with self._lock:
            now = self._monotonic()
            start = max(now, self._next)
            self._next = start + size / self.rate
        if start > now:
            self._sleep(start - now)

    def stream(self, data: bytes) -> Iterator[bytes]:
        """`data` in blocks, each sent only when its slot comes."""
        view = memoryview(data)
        for offset in range(0, len(data), BLOCK):
            piece = view[offset:offset + BLOCK]
            self.pace(len(piece))
            yield bytes(piece)
