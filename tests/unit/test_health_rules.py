"""Health rules (backend/domain/health.py): a component is up while some process reported it ok lately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.domain.health import STALE_AFTER, Beat, Expected, Kind, State, assess, overall

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
MLLP = Expected("HL7 MLLP", Kind.LISTENER, True)
EMULATOR = Expected("医保电子凭证模拟", Kind.LISTENER, False)


def beat(name: str, state: str, *, ago: float = 1, instance: str = "a:1", **kw: object) -> Beat:
    return Beat(name, kw.pop("kind", Kind.LISTENER), instance, state, bool(kw.pop("required", True)),  # type: ignore[arg-type]
                str(kw.pop("detail", "")), NOW - timedelta(seconds=ago), **kw)  # type: ignore[arg-type]


def test_a_fresh_ok_beat_is_up_and_counts_instances() -> None:
    [c] = assess([MLLP], [beat("HL7 MLLP", "ok"), beat("HL7 MLLP", "ok", instance="b:2")], at=NOW)
    assert (c.state, c.instances, c.required) == (State.OK, 2, True)
    assert overall([c]) == State.OK


def test_a_stale_beat_is_down_and_a_required_one_makes_the_whole_down() -> None:
    stale = STALE_AFTER.total_seconds() + 1
    [c] = assess([MLLP], [beat("HL7 MLLP", "ok", ago=stale)], at=NOW)
    assert c.state == State.DOWN
    assert "超时" in c.detail
    assert overall([c]) == State.DOWN


def test_a_component_nobody_reports_is_down() -> None:
    [c] = assess([MLLP], [], at=NOW)
    assert c.state == State.DOWN
    assert c.detail == "没有进程报告此组件"


def test_an_optional_component_down_is_reported_but_not_fatal() -> None:
    comps = assess([MLLP, EMULATOR], [beat("HL7 MLLP", "ok"), beat("医保电子凭证模拟", "down", detail="端口已被占用")],
                   at=NOW)
    assert [c.state for c in comps] == [State.OK, State.DOWN]
    assert comps[1].detail == "端口已被占用"
    assert overall(comps) == State.OK


def test_off_is_neither_up_nor_down_and_never_required() -> None:
    [c] = assess([MLLP], [beat("HL7 MLLP", "off", detail="未启动")], at=NOW)
    assert (c.state, c.required) == (State.OFF, False)
    assert overall([c]) == State.OK


def test_a_partner_reports_its_last_success_and_a_later_error() -> None:
    ok_at, err_at = NOW - timedelta(minutes=5), NOW - timedelta(minutes=1)
    b = beat("partner:医保平台", "down", kind=Kind.PARTNER, required=False, last_ok_at=ok_at,
             last_error="PartnerUnavailable: 超时", last_error_at=err_at)
    [c] = assess([], [b], at=NOW)
    body = c.as_dict()
    assert body["last_success"] == ok_at.isoformat()
    assert body["last_error"] == "PartnerUnavailable: 超时"
    assert body["state"] == "down"
    assert overall([c]) == State.OK  # a partner's trouble is shown, not a reason to take RadOps out


def test_a_partner_seen_by_a_stopped_process_keeps_its_last_outcome() -> None:
    ok_at = NOW - timedelta(hours=2)
    b = beat("partner:医保平台", "ok", ago=3600, kind=Kind.PARTNER, required=False, detail="医保平台", last_ok_at=ok_at)
    [c] = assess([], [b], at=NOW)
    assert c.state == State.OK  # an old beat says nothing against the partner
    assert c.as_dict()["last_success"] == ok_at.isoformat()
