"""The real cadre-health client against the loopback emulator over HTTP, with every fault switch:
slow, fail, drop, duplicate, expired token; and the emulator's own rules (roster, order, de-duplication)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from backend.ports.cadre_health import CoveredPerson
from integrations.cadre_health.client import HttpCadreHealthClient
from integrations.cadre_health.emulator import CadreHealthEmulator
from integrations.errors import PartnerRejected, PartnerUnavailable
from tests.cadre_helpers import ORG, PERSON, Ticker, file_info, report


@pytest.fixture
def clock() -> Ticker:
    return Ticker()


@pytest.fixture
def emulator(clock: Ticker) -> Iterator[CadreHealthEmulator]:
    emu = CadreHealthEmulator(token_ttl_s=600, clock=clock).start()
    emu.add_person(PERSON)
    yield emu
    emu.stop()


def make_client(emu: CadreHealthEmulator, clock: Ticker, *, timeout: float = 5, secret: str = "radops-demo-secret",
                page_size: int = 500) -> HttpCadreHealthClient:
    http = httpx.Client(base_url=emu.url, timeout=httpx.Timeout(timeout, connect=2))
    return HttpCadreHealthClient(http, client_id="radops", client_secret=secret, org_code=ORG, clock=clock,
                                 page_size=page_size)


def test_files_then_report_are_stored_once_each(emulator, clock):
    c = make_client(emulator, clock)
    files = [file_info(n) for n in range(3)]
    receipts = [c.post_file_info(info=f) for f in files]
    assert [r.duplicate for r in receipts] == [False] * 3
    assert c.post_report(report=report(files)).duplicate is False
    again = c.post_file_info(info=files[0])  # a retry of a file the system has
    assert (again.record_id, again.duplicate) == (receipts[0].record_id, True)
    state = emulator.state.snapshot()
    assert (state["files"], state["reports"], state["token_requests"]) == (3, 1, 1)
    stored = emulator.state.files[files[1].file_id]
    assert (stored["objectKey"], stored["checksum"], stored["sopInstanceUid"]) == (
        files[1].object_key, files[1].sha256, files[1].sop_uid)


def test_an_amended_report_is_a_new_version(emulator, clock):
    c = make_client(emulator, clock)
    f = file_info(1)
    c.post_file_info(info=f)
    first = c.post_report(report=report([f], version=1))
    second = c.post_report(report=report([f], version=2, impression="修改后的诊断意见"))
    assert first.record_id != second.record_id
    assert emulator.state.reports[(report([f]).report_id, 2)]["amended"] is True


def test_the_system_refuses_a_report_before_its_files_and_a_person_it_does_not_cover(emulator, clock):
    c = make_client(emulator, clock)
    with pytest.raises(PartnerRejected) as e:
        c.post_report(report=report([file_info(9)]))
    assert e.value.details["partner_code"] == "1003"
    stranger = CoveredPerson(id_no="110101199001010011", name="李四")
    with pytest.raises(PartnerRejected) as e2:
        c.post_file_info(info=file_info(1, person=stranger))
    assert e2.value.details["partner_code"] == "1002"


def test_the_roster_is_read_page_by_page(emulator, clock):
    for n in range(5):
        emulator.add_person(CoveredPerson(id_no=f"33010219600101{n:04d}", name=f"保健对象{n}"),
                            updated_at=datetime(2026, 11, 20 + n, tzinfo=UTC))
    c = make_client(emulator, clock, page_size=2)
    people = c.covered_persons()
    assert len(people) == 6
    assert PERSON in people
    recent = c.covered_persons(updated_since=datetime(2026, 11, 22, 12, tzinfo=UTC))
    assert sorted(p.name for p in recent if p != PERSON) == ["保健对象3", "保健对象4"]


def test_slow_switch_times_out_and_the_retry_finds_it_stored(emulator, clock):
    c = make_client(emulator, clock, timeout=0.3)
    c.covered_persons()  # a token first, while the system is quick
    emulator.set_faults(slow=0.6)
    f = file_info(1)
    with pytest.raises(PartnerUnavailable):
        c.post_file_info(info=f)
    emulator.set_faults(slow=0)
    for _ in range(100):  # the slow request finishes on the emulator's side after the client gave up
        if f.file_id in emulator.state.files:
            break
        time.sleep(0.02)
    assert c.post_file_info(info=f).duplicate is True
    assert emulator.state.snapshot()["files"] == 1


def test_fail_switch_answers_503_and_stores_nothing(emulator, clock):
    c = make_client(emulator, clock)
    emulator.set_faults(fail=2)
    for _ in range(2):
        with pytest.raises(PartnerUnavailable):
            c.post_file_info(info=file_info(1))
    assert emulator.state.snapshot()["files"] == 0
    assert c.post_file_info(info=file_info(1)).duplicate is False


def test_drop_switch_stores_but_never_answers_then_the_retry_is_a_duplicate(emulator, clock):
    c = make_client(emulator, clock)
    f = file_info(1)
    emulator.set_faults(drop=1)
    with pytest.raises(PartnerUnavailable):
        c.post_file_info(info=f)
    assert c.post_file_info(info=f).duplicate is True
    state = emulator.state.snapshot()
    assert state["files"] == 1
    assert state["posts"][f"file:{f.file_id}"] == 2


def test_duplicate_switch_answers_every_post_as_already_received(emulator, clock):
    c = make_client(emulator, clock)
    emulator.set_faults(duplicate=True)
    receipt = c.post_file_info(info=file_info(1))
    assert receipt.duplicate is True
    assert receipt.record_id


def test_expired_token_switch_makes_the_client_renew_once(emulator, clock):
    c = make_client(emulator, clock)
    c.post_file_info(info=file_info(1))
    emulator.set_faults(expire_tokens=True)
    assert c.post_file_info(info=file_info(2)).duplicate is False
    state = emulator.state.snapshot()
    assert (state["token_requests"], state["refused_tokens"]) == (2, 1)


def test_tokens_expire_and_the_client_renews_before_they_do(emulator, clock):
    c = make_client(emulator, clock)
    c.post_file_info(info=file_info(1))
    clock.advance(590)  # inside the emulator's 600 s, past the client's renewal point
    c.post_file_info(info=file_info(2))
    state = emulator.state.snapshot()
    assert (state["token_requests"], state["refused_tokens"]) == (2, 0)


def test_wrong_credentials_are_refused(emulator, clock):
    with pytest.raises(PartnerRejected):
        make_client(emulator, clock, secret="wrong").post_file_info(info=file_info(1))


def test_fault_switches_over_http(emulator):
    with httpx.Client(base_url=emulator.url, timeout=5) as http:
        assert http.post("/_emulator/faults", json={"fail": 1, "duplicate": True}).json()["fail"] == 1
        assert http.post("/_emulator/faults", json={"colour": "red"}).status_code == 400
        assert http.get("/_emulator/state").json()["faults"]["duplicate"] is True
