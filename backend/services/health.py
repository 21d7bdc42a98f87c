"""Health of the installation: heartbeats written by each process, partner outcomes, and the report.

Each process (web, scheduler, listeners, or the one embedded run) calls `beat` every few seconds with the
components it runs; `/api/health` reads every process's rows (`check`) and judges them with
`backend.domain.health`. Partner calls are noted in memory (`note_partner`, no write per call) and written
with the next beat.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, select

from backend.db.models import ComponentBeat
from backend.domain import health
from backend.services.base import Services, transaction


@dataclass(frozen=True, slots=True)
class Report:
    """What this process says about one component it runs."""

    component: str
    kind: str
    state: str
    required: bool = False
    detail: str = ""


@dataclass
class _PartnerNote:
    last_ok_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None


def this_instance() -> str:
    """The name of this process in heartbeats: host and process id."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def _notes(svc: Services) -> tuple[threading.Lock, dict[str, _PartnerNote]]:
    got = svc.cache.get("health.partners")
    if got is None:
        got = svc.cache.setdefault("health.partners", (threading.Lock(), {}))
    return cast(tuple[threading.Lock, dict[str, _PartnerNote]], got)


def note_partner(svc: Services, partner: str, *, error: str | None = None) -> None:
    """Remember the outcome of one call to a partner (written with this process's next beat)."""
    lock, notes = _notes(svc)
    now = svc.clock()
    with lock:
        note = notes.setdefault(partner, _PartnerNote())
        if error is None:
            note.last_ok_at = now
        else:
            note.last_error, note.last_error_at = error[:255], now


def beat(svc: Services, reports: Sequence[Report], *, instance: str) -> None:
    """Write this process's rows: one per component it runs, one per partner it has called."""
    lock, notes = _notes(svc)
    with lock:
        partners = {k: _PartnerNote(v.last_ok_at, v.last_error, v.last_error_at) for k, v in notes.items()}
    with transaction(svc) as tx:
        for r in reports:
            row = _row(tx.session, r.component, instance)
            row.kind, row.state, row.required, row.detail, row.beat_at = r.kind, r.state, r.required, \
                r.detail[:255], tx.now
            if r.state == health.State.OK:
                row.last_ok_at = tx.now
        for name, note in partners.items():
            row = _row(tx.session, f"partner:{name}", instance)
            row.kind, row.state, row.required, row.detail, row.beat_at = health.Kind.PARTNER, _partner_state(note), \
                False, name, tx.now
            row.last_ok_at, row.last_error, row.last_error_at = note.last_ok_at, note.last_error, note.last_error_at


def _partner_state(note: _PartnerNote) -> str:
    failing = note.last_error_at is not None and (note.last_ok_at is None or note.last_error_at > note.last_ok_at)
    return health.State.DOWN if failing else health.State.OK


def _row(session: Any, component: str, instance: str) -> ComponentBeat:
    row = session.get(ComponentBeat, (component, instance))
    if row is None:
        row = ComponentBeat(component=component, instance=instance, last_error="")
        session.add(row)
    return cast(ComponentBeat, row)


def withdraw(svc: Services, *, instance: str) -> None:
    """A clean stop: this process no longer runs anything (its components are down unless another runs them).

    Its partner rows stay: the last success and failure it saw are still the newest news of that partner.
    """
    with transaction(svc) as tx:
        tx.session.execute(delete(ComponentBeat).where(ComponentBeat.instance == instance,
                                                       ComponentBeat.kind != health.Kind.PARTNER))


def check(svc: Services, expected: Sequence[health.Expected], *, realtime: bool | None) -> dict[str, Any]:
    """The report `/api/health` answers: overall state, then each component (database first).

    `realtime` is the message queue's answer to a ping, or None where the installation has no queue.
    """
    now = svc.clock()
    try:
        with transaction(svc, readonly=True) as tx:
            rows = list(tx.session.scalars(select(ComponentBeat)))
            beats = [health.Beat(r.component, r.kind, r.instance, r.state, r.required, r.detail, r.beat_at,
                                 r.last_ok_at, r.last_error, r.last_error_at) for r in rows]
        database = health.ComponentHealth("database", health.Kind.DATABASE, health.State.OK, True, "", 1, now)
    except Exception as exc:  # the point of a health check is to report, not to raise
        beats = []
        database = health.ComponentHealth("database", health.Kind.DATABASE, health.State.DOWN, True,
                                          f"数据库不可用：{type(exc).__name__}", 0, None)
    components = [database]
    if realtime is not None:
        components.append(health.ComponentHealth(
            "realtime", health.Kind.REALTIME, health.State.OK if realtime else health.State.DOWN, True,
            "" if realtime else "Redis 消息队列无响应", 1 if realtime else 0, now if realtime else None))
    if database.state == health.State.OK:
        components += health.assess(expected, beats, at=now)
    state = health.overall(components)
    return {"status": state.value, "time": now.isoformat(), "database": database.state.value,
            "components": [c.as_dict() for c in components]}


def scheduler_beat(svc: Services) -> None:
    """The scheduler's heartbeat, written by a job: a scheduler whose jobs stop running is reported down."""
    beat(svc, [Report("scheduler", health.Kind.SCHEDULER, health.State.OK, required=True,
                      detail=f"每 {health.BEAT_SECONDS} 秒心跳")], instance=this_instance())
