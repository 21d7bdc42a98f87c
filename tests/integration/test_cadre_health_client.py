"""The real cadre-health client against httpx.MockTransport: the requests it builds, the token it keeps
(cached, renewed before expiry and once after a 401, fetched by one thread, never logged), its errors."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx
import pytest

from integrations.cadre_health.client import HttpCadreHealthClient
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable
from tests.cadre_helpers import ORG, PERSON, Ticker, file_info, report

SECRET = "s3cr3t-never-logged"


class Partner:
    """A scripted cadre-health system: records requests; `answers` override the normal reply per path."""

    def __init__(self, ttl: int = 7200) -> None:
        self.ttl = ttl
        self.requests: list[httpx.Request] = []
        self.tokens: list[str] = []
        self.answers: dict[str, list[httpx.Response]] = {}
        self.lock = threading.Lock()
        self.token_delay = 0.0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            queued = self.answers.get(request.url.path)
            if queued:
                return queued.pop(0)
        if request.url.path == "/oauth2/token":
            time.sleep(self.token_delay)
            with self.lock:
                token = f"tok-{len(self.tokens) + 1}-abcdef"
                self.tokens.append(token)
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": self.ttl})
        if request.headers.get("Authorization") != f"Bearer {self.tokens[-1]}":
            return httpx.Response(401, json={"error": "invalid_token"})
        if request.url.path == "/api/v1/covered-persons":
            return httpx.Response(200, json={"code": "0", "data": {"total": 1, "items": [
                {"idCardNo": PERSON.id_no.lower(), "name": PERSON.name, "healthCardNo": "BJ-0001",
                 "careLevel": "一级", "validTo": "2027-12-31"}]}})
        return httpx.Response(200, json={"code": "0", "data": {"recordId": "R1", "duplicate": False}})

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def client_for(partner: Partner, clock: Any = time.monotonic) -> HttpCadreHealthClient:
    http = httpx.Client(base_url="http://cadre.test", transport=httpx.MockTransport(partner), timeout=5)
    return HttpCadreHealthClient(http, client_id="radops", client_secret=SECRET, org_code=ORG, clock=clock)


def test_token_request_is_client_credentials_with_basic_auth_and_then_cached():
    partner = Partner()
    c = client_for(partner)
    c.post_file_info(info=file_info(1))
    c.post_file_info(info=file_info(2))
    assert partner.paths() == ["/oauth2/token", "/api/v1/imaging/file-info", "/api/v1/imaging/file-info"]
    token_req = partner.requests[0]
    assert token_req.content == b"grant_type=client_credentials"
    assert token_req.headers["Authorization"].startswith("Basic ")
    assert partner.requests[1].headers["Authorization"] == "Bearer tok-1-abcdef"


def test_file_info_and_report_bodies_carry_every_detail():
    partner = Partner()
    c = client_for(partner)
    info = file_info(3)
    receipt = c.post_file_info(info=info)
    assert (receipt.record_id, receipt.duplicate) == ("R1", False)
    body = json.loads(partner.requests[-1].content)
    assert body == {"orgCode": ORG, "fileId": info.file_id, "accessionNo": info.accession,
                    "idCardNo": info.patient_id_no, "studyInstanceUid": info.study_uid,
                    "seriesInstanceUid": info.series_uid, "sopInstanceUid": info.sop_uid, "bucket": "cadre-oss",
                    "objectKey": info.object_key, "fileSize": 524288, "checksumType": "SHA-256",
                    "checksum": info.sha256}
    c.post_report(report=report([info], version=2))
    body = json.loads(partner.requests[-1].content)
    assert (body["version"], body["amended"], body["fileIds"]) == (2, True, [info.file_id])
    assert body["approvedAt"] == "2026-11-27T03:30:00+00:00"
    assert body["structured"] == {"lung_rads": "3"}


def test_the_roster_is_mapped_to_covered_persons():
    people = client_for(Partner()).covered_persons()
    assert people == [PERSON]  # the ID number is upper-cased (an X check digit matches either way)


def test_token_is_renewed_before_it_expires():
    partner, clock = Partner(ttl=600), Ticker()
    c = client_for(partner, clock)
    c.post_file_info(info=file_info(1))
    clock.advance(539)  # the token lives 600 s; it is renewed a tenth of that (60 s) early
    c.post_file_info(info=file_info(2))
    assert len(partner.tokens) == 1
    clock.advance(2)
    c.post_file_info(info=file_info(3))
    assert len(partner.tokens) == 2
    assert 401 not in [getattr(r, "status_code", None) for r in partner.requests]


def test_a_401_renews_the_token_once_and_retries():
    partner = Partner()
    c = client_for(partner)
    c.post_file_info(info=file_info(1))
    partner.tokens.append("tok-ended-early")  # the system ended our token before its expiry
    assert c.post_file_info(info=file_info(2)).record_id == "R1"
    assert partner.paths()[-3:] == ["/api/v1/imaging/file-info", "/oauth2/token", "/api/v1/imaging/file-info"]
    partner.answers["/api/v1/imaging/file-info"] = [httpx.Response(401, json={}), httpx.Response(401, json={})]
    with pytest.raises(PartnerRejected) as e:
        c.post_file_info(info=file_info(3))
    assert e.value.details["status"] == 401  # refused again with a new token: no third try


def test_two_threads_never_fetch_two_tokens_at_once():
    partner = Partner()
    partner.token_delay = 0.2  # a slow token endpoint: every thread arrives while the first one waits
    c = client_for(partner)
    errors: list[BaseException] = []

    def post(n: int) -> None:
        try:
            c.post_file_info(info=file_info(n))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert partner.paths().count("/oauth2/token") == 1


def test_the_token_and_the_secret_are_never_logged(caplog):
    partner = Partner()
    c = client_for(partner)
    with caplog.at_level(logging.DEBUG):
        c.post_file_info(info=file_info(1))
        partner.tokens.append("tok-ended-early")
        c.post_report(report=report([file_info(1)]))
        partner.answers["/oauth2/token"] = [httpx.Response(401, json={"error": "invalid_client"})]
        partner.tokens.append("tok-ended-again")
        with pytest.raises(PartnerRejected) as e:
            c.post_file_info(info=file_info(2))
    text = caplog.text + repr(c) + str(e.value) + repr(e.value.details)
    assert "new access token" in caplog.text
    assert len(partner.tokens) >= 3
    for secret in (SECRET, *partner.tokens):
        assert secret not in text


@pytest.mark.parametrize(("response", "error", "code"), [
    (httpx.Response(503, json={"code": "5000"}), PartnerUnavailable, "partner_unavailable"),
    (httpx.Response(200, json={"code": "1002", "message": "非保健对象"}), PartnerRejected, "partner_rejected"),
    (httpx.Response(400, json={"code": "1001", "message": "参数错误"}), PartnerRejected, "partner_rejected"),
    (httpx.Response(200, text="<html>gateway</html>"), PartnerProtocolError, "partner_protocol_error"),
    (httpx.Response(200, json={"code": "0"}), PartnerProtocolError, "partner_protocol_error"),
    (httpx.Response(200, json={"code": "0", "data": {"duplicate": True}}), PartnerProtocolError,
     "partner_protocol_error"),
])
def test_failures_become_integration_errors(response, error, code):
    partner = Partner()
    partner.answers["/api/v1/imaging/file-info"] = [response]
    with pytest.raises(error) as e:
        client_for(partner).post_file_info(info=file_info(1))
    assert e.value.code == code


def test_a_dropped_connection_is_partner_unavailable():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 60})
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    http = httpx.Client(base_url="http://cadre.test", transport=httpx.MockTransport(handler))
    c = HttpCadreHealthClient(http, client_id="radops", client_secret=SECRET, org_code=ORG)
    with pytest.raises(PartnerUnavailable):
        c.post_file_info(info=file_info(1))


def test_bad_credentials_are_a_rejection_naming_the_credentials():
    partner = Partner()
    partner.answers["/oauth2/token"] = [httpx.Response(401, json={"error": "invalid_client"})]
    with pytest.raises(PartnerRejected) as e:
        client_for(partner).post_file_info(info=file_info(1))
    assert "凭证" in e.value.message
