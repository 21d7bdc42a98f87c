"""Whether the installation is healthy: each component's state from the heartbeats its processes write.

A process that runs a component (the scheduler, a listener, an emulator, a partner client) writes one
heartbeat row per component every BEAT_SECONDS; a component is up while some process reported it `ok`
less than STALE_AFTER ago. A required component that is down makes the whole answer `down` (HTTP 503).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

BEAT_SECONDS = 10
# Three missed beats: a process that stopped (or hangs) is reported down within half a minute.
STALE_AFTER = timedelta(seconds=3 * BEAT_SECONDS)


class State(StrEnum):
    OK = "ok"
    DOWN = "down"
    OFF = "off"  # deliberately not started here (e.g. an emulator when the real partner is configured)


class Kind(StrEnum):
    DATABASE = "database"
    REALTIME = "realtime"
    SCHEDULER = "scheduler"
    LISTENER = "listener"
    WEB = "web"
    PARTNER = "partner"


LABELS = {State.OK: "正常", State.DOWN: "不可用", State.OFF: "未启用"}


@dataclass(frozen=True, slots=True)
class Beat:
    """One process's last word about one component."""

    component: str
    kind: str
    instance: str
    state: str
    required: bool
    detail: str
    at: datetime
    last_ok_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Expected:
    """A component the installation needs to see, whether or not any process reports it."""

    component: str
    kind: str
    required: bool


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    component: str
    kind: str
    state: State
    required: bool
    detail: str
    instances: int
    last_seen: datetime | None
    last_ok_at: datetime | None = None
    last_error: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.component, "kind": self.kind, "state": self.state.value, "label": LABELS[self.state],
            "required": self.required, "detail": self.detail, "instances": self.instances,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }
        if self.kind == Kind.PARTNER:
            out["last_success"] = self.last_ok_at.isoformat() if self.last_ok_at else None
            out["last_error"] = self.last_error
        return out


def assess_component(expected: Expected, beats: Sequence[Beat], *, at: datetime) -> ComponentHealth:
    """One component's state: ok while a fresh `ok` beat exists; off when every fresh beat says off."""
    fresh = [b for b in beats if at - b.at <= STALE_AFTER]
    live_ok = [b for b in fresh if b.state == State.OK]
    last_seen = max((b.at for b in beats), default=None)
    last_ok = max((b.last_ok_at for b in beats if b.last_ok_at), default=None)
    errors = sorted((b for b in beats if b.last_error_at), key=lambda b: b.last_error_at or b.at)
    last_error = errors[-1].last_error if errors and (last_ok is None or
                                                       (errors[-1].last_error_at or at) > last_ok) else ""
    if expected.kind == Kind.PARTNER:
        # A partner is judged by the newest outcome any process saw, however old its beat: a web process
        # that stopped says nothing about the partner it called.
        state, detail = (State.DOWN, last_error) if last_error else (State.OK, beats[0].detail if beats else "")
    elif live_ok:
        state, detail = State.OK, "; ".join(sorted({b.detail for b in live_ok if b.detail}))
    elif fresh and all(b.state == State.OFF for b in fresh):
        state, detail = State.OFF, fresh[0].detail
    else:
        state = State.DOWN
        detail = next((b.detail for b in fresh if b.state == State.DOWN), "") or (
            "没有进程报告此组件" if not beats else "心跳已超时（进程已停止或无响应）")
    required = expected.required and state != State.OFF
    return ComponentHealth(expected.component, expected.kind, state, required, detail, len(live_ok), last_seen,
                           last_ok, last_error)


def assess(expected: Iterable[Expected], beats: Sequence[Beat], *, at: datetime) -> list[ComponentHealth]:
    """Every expected component, then any other component some process reported, each assessed."""
    by_name: dict[str, list[Beat]] = {}
    for b in beats:
        by_name.setdefault(b.component, []).append(b)
    wanted = {e.component: e for e in expected}
    for name, group in by_name.items():
        if name not in wanted:
            newest = max(group, key=lambda b: b.at)
            wanted[name] = Expected(name, newest.kind, newest.required)
    return [assess_component(e, by_name.get(e.component, []), at=at) for e in wanted.values()]


def overall(components: Iterable[ComponentHealth]) -> State:
    """Down when a required component is down; otherwise ok (an optional one down is reported, not fatal)."""
    return State.DOWN if any(c.required and c.state == State.DOWN for c in components) else State.OK
