"""Heartbeats and the health report (backend/services/health.py), and what a revocation makes a process
forget (backend/services/auth.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backend.bootstrap import ObservedPort
from backend.domain.health import Expected, Kind
from backend.services import auth, health
from backend.services.health import Report
from tests.conftest import PASSWORDS

EXPECTED = [Expected("scheduler", Kind.SCHEDULER, True), Expected("HL7 MLLP", Kind.LISTENER, True)]


def _states(body: dict) -> dict[str, str]:
    return {c["name"]: c["state"] for c in body["components"]}


def test_beats_make_the_installation_healthy_and_withdrawing_them_does_not(svc, clock) -> None:
    assert health.check(svc, EXPECTED, realtime=None)["status"] == "down"
    health.scheduler_beat(svc)
    health.beat(svc, [Report("HL7 MLLP", Kind.LISTENER, "ok", True, "mllp://127.0.0.1:2575")], instance="l:1")
    body = health.check(svc, EXPECTED, realtime=True)
    assert body["status"] == "ok"
    assert _states(body) == {"database": "ok", "realtime": "ok", "scheduler": "ok", "HL7 MLLP": "ok"}
    health.withdraw(svc, instance="l:1")  # the listeners process stopped cleanly
    assert _states(health.check(svc, EXPECTED, realtime=True))["HL7 MLLP"] == "down"


def test_a_silent_process_goes_stale_and_a_dead_queue_is_down(svc, clock) -> None:
    health.scheduler_beat(svc)
    health.beat(svc, [Report("HL7 MLLP", Kind.LISTENER, "ok", True)], instance="l:1")
    clock.advance(seconds=31)
    body = health.check(svc, EXPECTED, realtime=False)
    assert body["status"] == "down"
    assert _states(body) == {"database": "ok", "realtime": "down", "scheduler": "down", "HL7 MLLP": "down"}


class _Resolver:
    def __init__(self) -> None:
        self.fail = False

    def resolve(self, *, qr_payload: str) -> None:
        if self.fail:
            raise ConnectionError("医保平台无响应")
        return None


def test_partner_calls_are_noted_and_written_with_the_next_beat(svc, clock) -> None:
    resolver = _Resolver()
    port = ObservedPort(svc, "医保平台", resolver)
    port.resolve(qr_payload="EV:1")
    clock.advance(minutes=1)
    resolver.fail = True
    with pytest.raises(ConnectionError):
        port.resolve(qr_payload="EV:2")  # the caller still sees the failure
    health.beat(svc, [], instance="w:1")
    partner = next(c for c in health.check(svc, [], realtime=None)["components"] if c["kind"] == "partner")
    assert partner["name"] == "partner:医保平台"
    assert partner["state"] == "down"
    assert partner["last_error"] == "ConnectionError: 医保平台无响应"
    assert partner["last_success"] is not None
    assert health.check(svc, [], realtime=None)["status"] == "ok"  # shown, not fatal


def test_forget_drops_only_the_revoked_credential(svc) -> None:
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    typist = auth.login(svc, "typist", PASSWORDS["typist"])
    key = auth.create_api_key(svc, "读", ["exam.read"], by=admin)
    auth.actor_by_user_id(svc, admin.id)
    auth.actor_by_user_id(svc, typist.id)
    key_actor = auth.actor_for_api_key(svc, key)
    auth.forget(svc, "user", str(typist.id))
    cached = {hit[1].kind + str(hit[1].id) for k, hit in svc.cache.items() if k.startswith("actor:")}
    assert cached == {f"user{admin.id}", f"api_key{key_actor.id}"}
    auth.forget(svc, "api_key", str(key_actor.id))
    auth.forget(svc, "session", "s-123")  # a kind this process keeps nothing for: nothing happens
    cached = {hit[1].kind + str(hit[1].id) for k, hit in svc.cache.items() if k.startswith("actor:")}
    assert cached == {f"user{admin.id}"}
    auth.forget(svc, "all", "")
    assert not [k for k in svc.cache if k.startswith("actor:")]


class _Bus:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def revoke(self, kind: str, ident: str) -> None:
        self.sent.append((kind, ident))

    def ping(self) -> bool:
        return True


def test_revocations_are_published_after_the_change(svc) -> None:
    bus = _Bus()
    svc.ports = replace(svc.ports, revocations=bus)
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    typist = auth.login(svc, "typist", PASSWORDS["typist"])
    key = auth.create_api_key(svc, "读", ["exam.read"], by=admin)
    key_id = auth.actor_for_api_key(svc, key).id
    auth.revoke_api_key(svc, key_id, by=admin)
    auth.update_user(svc, typist.id, active=False, by=admin)
    assert bus.sent == [("api_key", str(key_id)), ("user", str(typist.id))]
