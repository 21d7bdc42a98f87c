"""What the cadre-health emulator holds: credentials, tokens, the roster, received files and reports, and the
fault switches. Thread-safe: the HTTP server answers each request on its own thread."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.ports.cadre_health import CoveredPerson


@dataclass
class Faults:
    """Fault switches (docs/cadre_health_interface.md): each `fail` / `drop` count is used up request by request."""

    slow_s: float = 0.0  # wait this long before answering any request
    fail: int = 0  # the next N API requests answer 503 and store nothing
    drop: int = 0  # the next N posts are stored, then the connection is closed without an answer
    duplicate: bool = False  # every post is answered as one the system had already received
    expire_tokens: bool = False  # every token issued so far is refused (401) from now on

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name == "expire_tokens":
                self.expire_tokens = bool(value)
            elif name in ("slow", "slow_s"):
                self.slow_s = float(value)
            elif name in ("fail", "drop"):
                setattr(self, name, int(value))
            elif name == "duplicate":
                self.duplicate = bool(value)
            else:
                raise ValueError(name)


@dataclass
class EmulatorState:
    client_id: str
    client_secret: str
    token_ttl_s: float
    clock: Callable[[], float] = time.monotonic
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: Faults = field(default_factory=Faults)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (clock seconds)
    token_requests: int = 0
    refused_tokens: int = 0
    roster: dict[str, tuple[CoveredPerson, datetime | None]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    posts: Counter[str] = field(default_factory=Counter)  # "file:<id>" / "report:<id>:<v>" -> times received

    def issue_token(self, client_id: str, secret: str) -> str | None:
        with self.lock:
            self.token_requests += 1
            if not (secrets.compare_digest(client_id, self.client_id)
                    and secrets.compare_digest(secret, self.client_secret)):
                return None
            token = secrets.token_urlsafe(24)
            self.tokens[token] = self.clock() + self.token_ttl_s
            return token

    def token_ok(self, token: str) -> bool:
        with self.lock:
            if self.faults.expire_tokens:
                self.tokens.clear()  # tokens end early, once: the ones issued after this are good again
                self.faults.expire_tokens = False
            ok = token in self.tokens and self.clock() < self.tokens[token]
            self.refused_tokens += 0 if ok else 1
            return ok

    def take(self, name: str) -> bool:
        """Use up one `fail` or `drop` fault; True when this request is the one that fails."""
        with self.lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def store(self, kind: str, key: Any, data: dict[str, Any]) -> tuple[str, bool]:
        """Keep a received file or report once; (record id, it was there before)."""
        with self.lock:
            table: dict[Any, dict[str, Any]] = self.files if kind == "file" else self.reports
            self.posts[f"{kind}:{key if kind == 'file' else ':'.join(map(str, key))}"] += 1
            seen = key in table
            if not seen:
                table[key] = {**data, "recordId": f"{kind[0].upper()}{len(table) + 1:08d}"}
            return str(table[key]["recordId"]), seen or self.faults.duplicate

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"token_requests": self.token_requests, "refused_tokens": self.refused_tokens,
                    "files": len(self.files), "reports": len(self.reports), "posts": dict(self.posts),
                    "faults": vars(self.faults).copy()}
