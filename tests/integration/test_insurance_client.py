"""The real e-voucher client (HttpInsuranceResolver): the request it builds and every failure it maps, first
against `httpx.MockTransport`, then against the insurance emulator on a free loopback port."""

from __future__ import annotations

import json

import httpx
import pytest

from backend.ports import InsuranceResolver, InsuredPerson
from integrations.errors import IntegrationError, PartnerProtocolError, PartnerRejected, PartnerUnavailable
from integrations.insurance.client import HttpInsuranceResolver
from integrations.insurance.emulator import InsuranceEmulator

OK_DATA = {"idNo": "330102198001011234", "idType": "01", "userName": "王建国", "ecToken": "t0k3n",
           "insuOrg": "330100", "ecIndexNo": "IN330100000001"}


def mock_client(answer, seen: list[httpx.Request] | None = None) -> HttpInsuranceResolver:
    """A resolver whose transport answers with `answer(request)` (a Response, or raises)."""
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return answer(request)

    client = httpx.Client(base_url="http://insurance.test", transport=httpx.MockTransport(handler),
                          timeout=httpx.Timeout(5, connect=2))
    return HttpInsuranceResolver(client, org_id="H33010000042", operator_id="KIOSK-7")


def reply(status: int = 200, body: object = None, *, raw: bytes | None = None):
    return lambda _req: httpx.Response(status, content=raw) if raw is not None else httpx.Response(status, json=body)


def test_is_an_insurance_resolver():
    resolver: InsuranceResolver = mock_client(reply(body={"code": "1001"}))
    assert resolver.resolve(qr_payload="X") is None


def test_request_is_an_ec_query_post_from_a_kiosk():
    seen: list[httpx.Request] = []
    person = mock_client(reply(body={"code": "0", "message": "成功", "data": OK_DATA}), seen).resolve(
        qr_payload="NHSA-QR-42")
    [req] = seen
    assert (req.method, req.url.path) == ("POST", "/ec/query")
    assert req.headers["content-type"] == "application/json"
    body = json.loads(req.content)
    assert body["transType"] == "ec.query"
    assert body["data"] == {"orgId": "H33010000042", "businessType": "01203", "operatorId": "KIOSK-7",
                            "operatorName": "自助机", "officeId": "RAD", "officeName": "放射科",
                            "deviceType": "SelfService", "qrCode": "NHSA-QR-42"}
    assert person == InsuredPerson(id_no="330102198001011234", id_type="01", name="王建国",
                                   insurance_no="IN330100000001")


@pytest.mark.parametrize("code", ["1001", "1002"])
def test_unknown_or_expired_voucher_is_none(code):
    assert mock_client(reply(body={"code": code, "message": "电子凭证无效"})).resolve(qr_payload="Q") is None


@pytest.mark.parametrize(("answer", "error", "status"), [
    (reply(503, {"code": "503"}), PartnerUnavailable, 503),
    (reply(500, raw=b"<html>oops</html>"), PartnerUnavailable, 503),
    (reply(401, {"code": "401"}), PartnerRejected, 502),
    (reply(404, raw=b""), PartnerRejected, 502),
    (reply(body={"code": "2001", "message": "机构未授权"}), PartnerRejected, 502),
    (reply(body={"code": "0", "message": "成功"}), PartnerRejected, 502),  # success without data
    (reply(raw=b"not json"), PartnerProtocolError, 502),
    (reply(body=["a", "list"]), PartnerProtocolError, 502),
    (reply(body={"code": "0", "data": {"userName": "无身份证号"}}), PartnerProtocolError, 502),
], ids=["503", "500-html", "401", "404", "business-error", "no-data", "not-json", "json-list", "no-idNo"])
def test_failures_become_integration_errors(answer, error, status):
    with pytest.raises(error) as exc:
        mock_client(answer).resolve(qr_payload="Q")
    assert isinstance(exc.value, IntegrationError)
    assert exc.value.status == status
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)  # a Chinese message for the kiosk


def test_business_error_keeps_the_platform_code():
    with pytest.raises(PartnerRejected) as exc:
        mock_client(reply(body={"code": "2001", "message": "机构未授权"})).resolve(qr_payload="Q")
    assert exc.value.details["partner_code"] == "2001"
    assert "机构未授权" in exc.value.message


@pytest.mark.parametrize("failure", [httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"),
                                     httpx.ConnectError("refused"), httpx.RemoteProtocolError("cut")],
                         ids=["connect-timeout", "read-timeout", "refused", "cut"])
def test_transport_failures_are_unavailable(failure):
    def boom(_req: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(PartnerUnavailable) as exc:
        mock_client(boom).resolve(qr_payload="Q")
    assert exc.value.__cause__ is failure


def test_undecodable_body_is_a_protocol_error():
    answer = reply(raw=b"\x1f\x8b not gzip at all")

    def gzip_claimed(req: httpx.Request) -> httpx.Response:
        r = answer(req)
        r.headers["Content-Encoding"] = "gzip"
        return r

    with pytest.raises(PartnerProtocolError):
        mock_client(gzip_claimed).resolve(qr_payload="Q")


@pytest.fixture
def emulator():
    emu = InsuranceEmulator().start()
    yield emu
    emu.stop()


def real_client(url: str) -> HttpInsuranceResolver:
    return HttpInsuranceResolver(httpx.Client(base_url=url, timeout=httpx.Timeout(5, connect=2)))


def test_against_the_emulator(emulator):
    emulator.add_voucher("NHSA-QR-7", InsuredPerson(id_no="330102198001011234", name="李秀兰",
                                                    insurance_no="IN330100000007"))
    resolver = real_client(emulator.url)
    assert resolver.resolve(qr_payload="NHSA-QR-7") == InsuredPerson(
        id_no="330102198001011234", id_type="01", name="李秀兰", insurance_no="IN330100000007")
    assert resolver.resolve(qr_payload="EV:330102199001011111").id_no == "330102199001011111"  # demo voucher
    assert resolver.resolve(qr_payload="NHSA-QR-UNKNOWN") is None
    assert [r["data"]["qrCode"] for r in emulator.requests] == ["NHSA-QR-7", "EV:330102199001011111",
                                                                "NHSA-QR-UNKNOWN"]
    assert {r["data"]["orgId"] for r in emulator.requests} == {"H33010000001"}


def test_emulator_gone_is_unavailable(emulator):
    url = emulator.url
    emulator.stop()
    with pytest.raises(PartnerUnavailable):
        real_client(url).resolve(qr_payload="NHSA-QR-7")


def test_wrong_path_on_the_emulator_is_rejected(emulator):
    resolver = HttpInsuranceResolver(httpx.Client(base_url=emulator.url + "/v2", timeout=5))
    with pytest.raises(PartnerRejected):
        resolver.resolve(qr_payload="NHSA-QR-7")
