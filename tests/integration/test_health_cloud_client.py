"""The real health cloud client against `httpx.MockTransport`: the requests it builds (signature, headers,
chunk offsets and checksums), its retries and how it words failures; the secret never leaves it."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime

import httpx
import pytest

from backend.domain.errors import Conflict
from backend.ports.health_cloud import CloudFile, CloudFileEntry, CloudStudy, CloudUpload
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable
from integrations.health_cloud import signing
from integrations.health_cloud.client import PAGE_SIZE, CloudCredentials, HttpHealthCloud, RetryPolicy

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
SECRET = "s3cr3t-never-seen"
CREDS = CloudCredentials(app_id="APP001", secret=SECRET, hospital_code="H33010001")
KiB = 1024


def ok(data, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": "0", "message": "成功", "data": data})


def fail(code: str, message: str, status: int = 200, data=None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": data})


class Recorder:
    """A MockTransport handler that records each request and answers from a queue (or a function)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer


def cloud(handler, **kw) -> tuple[HttpHealthCloud, list[float]]:
    sleeps: list[float] = []
    client = httpx.Client(base_url="http://cloud.test/gateway", transport=httpx.MockTransport(handler),
                          timeout=httpx.Timeout(10, connect=5))
    kw.setdefault("retry", RetryPolicy(attempts=3, backoff_s=0.5))
    return HttpHealthCloud(client, CREDS, clock=lambda: NOW, sleep=sleeps.append, **kw), sleeps


def study(n: int = 2) -> CloudStudy:
    files = tuple(CloudFileEntry(f"1.2.3.{i}", f"1.2.3.{i % 2 + 100}", 1000 + i, "ab" * 32) for i in range(n))
    return CloudStudy(accession="CT2026112701", study_uid="1.2.3", patient_id="P0001", patient_name="王秀英",
                      modality="CT", study_date=date(2026, 11, 27), files=files, patient_sex="F",
                      birth_date=date(1961, 3, 4), old_cloud_id="OLD-7")


def test_a_registration_is_signed_over_method_path_time_nonce_and_body():
    rec = Recorder(ok({"registrationId": "HC1", "duplicate": False, "linkedOldCloudId": "OLD-7"}))
    client, _ = cloud(rec)
    reg = client.register_study(study=study())
    assert (reg.registration_id, reg.duplicate, reg.old_cloud_id) == ("HC1", False, "OLD-7")
    request, body = rec.requests[0], rec.bodies[0]
    assert request.method == "POST"
    assert request.url.raw_path == b"/gateway/api/v1/studies/register"
    headers = {k: request.headers[k] for k in (signing.APP_ID, signing.TIMESTAMP, signing.NONCE,
                                               signing.CONTENT_SHA256, signing.SIGNATURE)}
    assert headers[signing.APP_ID] == "APP001"
    assert headers[signing.TIMESTAMP] == str(int(NOW.timestamp() * 1000))
    assert headers[signing.CONTENT_SHA256] == hashlib.sha256(body).hexdigest()
    assert signing.verify(SECRET, "POST", "/gateway/api/v1/studies/register", headers)
    assert not signing.verify("another secret", "POST", "/gateway/api/v1/studies/register", headers)
    sent = json.loads(body)
    assert sent["hospitalCode"] == "H33010001"
    assert sent["patient"] == {"patientId": "P0001", "name": "王秀英", "sex": "F", "birthDate": "1961-03-04",
                               "idCardNo": ""}
    assert sent["study"] == {"accessionNumber": "CT2026112701", "studyInstanceUid": "1.2.3", "modality": "CT",
                             "studyDate": "2026-11-27", "seriesCount": 2, "imageCount": 2, "totalBytes": 2001,
                             "oldCloudId": "OLD-7"}
    assert [f["sopInstanceUid"] for f in sent["files"]] == ["1.2.3.0", "1.2.3.1"]


def test_every_request_has_a_fresh_nonce():
    rec = Recorder(ok({"registrationId": "HC1"}))
    client, _ = cloud(rec)
    client.register_study(study=study())
    client.register_study(study=study())
    nonces = {r.headers[signing.NONCE] for r in rec.requests}
    assert len(nonces) == 2


def upload(size: int, *, acknowledged: int = 0, chunk: int = 256 * KiB, data: bytes | None = None):
    data = data if data is not None else bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    f = CloudFile("HC1", "1.2.3.4", size, hashlib.sha256(data).hexdigest(), "key-1")
    return CloudUpload("UP1", f, acknowledged=acknowledged, complete=False, chunk_size=chunk), data


def chunk_answers(size: int):
    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        ack = offset + len(request.read())
        return ok({"state": "completed" if ack >= size else "uploading", "acknowledgedOffset": ack})
    return answer


def test_chunks_carry_their_offsets_and_checksums():
    up, data = upload(600 * KiB)
    rec = Recorder(chunk_answers(up.file.size))
    client, _ = cloud(rec)
    progress: list[tuple[int, int]] = []
    receipt = client.upload_file(upload=up, source=data, on_progress=lambda a, t: progress.append((a, t)))
    assert [r.url.params["offset"] for r in rec.requests] == ["0", str(256 * KiB), str(512 * KiB)]
    assert [r.url.params.get("final") for r in rec.requests] == [None, None, "1"]
    for request, body in zip(rec.requests, rec.bodies, strict=True):
        assert request.method == "PUT"
        assert request.url.path == "/gateway/api/v1/files/UP1/chunks"
        assert request.headers[signing.CONTENT_SHA256] == hashlib.sha256(body).hexdigest()
        assert int(request.headers["Content-Length"]) == len(body)
    assert b"".join(rec.bodies) == data
    assert receipt.bytes_sent == len(data)
    assert progress[-1] == (len(data), len(data))


def test_an_upload_resumes_from_the_acknowledged_offset():
    up, data = upload(600 * KiB, acknowledged=256 * KiB)
    rec = Recorder(chunk_answers(up.file.size))
    client, _ = cloud(rec)
    receipt = client.upload_file(upload=up, source=data)
    assert [int(r.url.params["offset"]) for r in rec.requests] == [256 * KiB, 512 * KiB]
    assert (receipt.bytes_sent, receipt.resumed_from) == (len(data) - 256 * KiB, 256 * KiB)


def test_a_complete_upload_sends_nothing():
    up, data = upload(1000)
    rec = Recorder(ok({}))
    client, _ = cloud(rec)
    done = CloudUpload(up.upload_id, up.file, acknowledged=1000, complete=True, chunk_size=up.chunk_size)
    assert client.upload_file(upload=done, source=data).already_complete
    assert rec.requests == []


def test_a_failed_chunk_asks_the_cloud_where_it_stands_then_goes_on():
    up, data = upload(600 * KiB)
    status = ok({"state": "uploading", "acknowledgedOffset": 256 * KiB})
    rec = Recorder(chunk_answers(up.file.size), httpx.ReadError("connection reset"), status,
                   chunk_answers(up.file.size))
    client, sleeps = cloud(rec)
    client.upload_file(upload=up, source=data)
    calls = [(r.method, r.url.params.get("offset")) for r in rec.requests]
    assert calls == [("PUT", "0"), ("PUT", str(256 * KiB)), ("GET", None), ("PUT", str(256 * KiB)),
                     ("PUT", str(512 * KiB))]
    assert sleeps == [0.5]


def test_server_errors_are_retried_with_a_growing_pause_then_reported_unavailable():
    rec = Recorder(fail("50301", "busy", 503), fail("50301", "busy", 503), ok({"registrationId": "HC9"}))
    client, sleeps = cloud(rec)
    assert client.register_study(study=study()).registration_id == "HC9"
    assert sleeps == [0.5, 1.0]
    rec = Recorder(httpx.Response(502, text="<html>bad gateway</html>"))
    client, sleeps = cloud(rec)
    with pytest.raises(PartnerUnavailable) as exc:
        client.register_study(study=study())
    assert "暂不可用" in exc.value.message
    assert len(rec.requests) == 3


def test_a_stale_timestamp_is_signed_again_on_the_clouds_clock():
    server_ms = int(NOW.timestamp() * 1000) + 600_000  # the cloud is ten minutes ahead
    rec = Recorder(fail("40102", "时间戳已过期", 401, {"serverTime": server_ms}), ok({"registrationId": "HC2"}))
    client, _ = cloud(rec)
    client.register_study(study=study())
    assert rec.requests[1].headers[signing.TIMESTAMP] == str(server_ms)
    rec = Recorder(fail("40102", "时间戳已过期", 401, {"serverTime": server_ms}))
    client, _ = cloud(rec)
    with pytest.raises(PartnerRejected) as exc:
        client.register_study(study=study())
    assert "时间戳过期" in exc.value.message


def test_business_refusals_and_unreadable_answers_keep_the_raw_answer():
    client, _ = cloud(Recorder(fail("20003", "检查日期超出云端保存期限（3个月）")))
    with pytest.raises(PartnerRejected) as rejected:
        client.register_study(study=study())
    assert rejected.value.details["partner_code"] == "20003"
    assert "保存期限" in rejected.value.message
    assert "20003" in rejected.value.details["raw"]
    client, _ = cloud(Recorder(httpx.Response(200, text="<html>portal login</html>")))
    with pytest.raises(PartnerProtocolError) as garbled:
        client.register_study(study=study())
    assert garbled.value.details["raw"] == "<html>portal login</html>"
    client, _ = cloud(Recorder(ok({"no": "id"})))
    with pytest.raises(PartnerProtocolError):
        client.register_study(study=study())


def test_a_duplicate_refused_without_its_id_is_looked_up_by_study_uid():
    found = ok({"registrationId": "HC5", "studyInstanceUid": "1.2.3"})
    rec = Recorder(fail("20001", "该检查已登记"), found)
    client, _ = cloud(rec)
    reg = client.register_study(study=study())
    assert (reg.registration_id, reg.duplicate) == ("HC5", True)
    assert rec.requests[1].method == "GET"
    assert rec.requests[1].url.path == "/gateway/api/v1/studies/1.2.3"


def test_listing_walks_every_page():
    item = {"registrationId": "HC1", "studyInstanceUid": "1.2", "accessionNumber": "A", "studyDate": "2026-11-27",
            "registeredAt": "2026-11-27T09:00:00+08:00", "expireAt": "2027-02-28T00:00:00+08:00",
            "receivedFiles": 3, "imageCount": 3}
    rec = Recorder(ok({"items": [item] * PAGE_SIZE}), ok({"items": [item]}))
    client, _ = cloud(rec)
    studies = client.list_studies(since=date(2026, 9, 1))
    assert len(studies) == PAGE_SIZE + 1
    assert [r.url.params["page"] for r in rec.requests] == ["1", "2"]
    assert rec.requests[0].url.params["since"] == "2026-09-01"
    assert studies[0].expires_at == datetime(2027, 2, 27, 16, 0, tzinfo=UTC)


def test_the_bandwidth_limit_paces_the_bytes():
    up, data = upload(1024 * KiB, chunk=512 * KiB)
    clock = {"t": 0.0}
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock["t"] += s

    client = HttpHealthCloud(httpx.Client(base_url="http://cloud.test", transport=httpx.MockTransport(
        Recorder(chunk_answers(up.file.size)))), CREDS, clock=lambda: NOW, sleep=sleep, bandwidth=256 * KiB)
    assert client.throttle is not None
    client.throttle._monotonic = lambda: clock["t"]
    client.upload_file(upload=up, source=data)
    # 1 MiB at 256 KiB/s: every 64 KiB block after the first waits its turn, about four seconds in all.
    assert sum(sleeps) == pytest.approx((1024 - 64) / 256)


def test_the_secret_never_leaves_the_client(caplog):
    caplog.set_level(logging.DEBUG)
    up, data = upload(600 * KiB)
    chunks = chunk_answers(up.file.size)

    def answer(request: httpx.Request) -> httpx.Response:
        return ok({"state": "uploading", "acknowledgedOffset": 0}) if request.method == "GET" else chunks(request)

    rec = Recorder(httpx.ConnectError("refused"), fail("50301", "busy", 503), answer)
    client, _ = cloud(rec)
    client.upload_file(upload=up, source=data)
    assert SECRET not in repr(client.credentials)
    assert SECRET not in caplog.text
    for request, body in zip(rec.requests, rec.bodies, strict=True):
        assert SECRET not in str(request.url)
        assert SECRET.encode() not in body
        assert all(SECRET not in v for v in request.headers.values())


def test_a_file_changed_since_registration_is_not_sent(tmp_path):
    up, data = upload(600 * KiB)
    path = tmp_path / "slice.dcm"
    path.write_bytes(data[: 300 * KiB])  # cut short on disk after its size and checksum were registered
    rec = Recorder(chunk_answers(up.file.size))
    client, _ = cloud(rec)
    with pytest.raises(Conflict) as exc:
        client.upload_file(upload=up, source=path)
    assert exc.value.code == "source_changed"
    assert [int(r.url.params["offset"]) for r in rec.requests] == [0]


def test_a_cloud_that_acknowledges_without_progress_is_a_protocol_error():
    up, data = upload(600 * KiB)
    client, _ = cloud(Recorder(ok({"state": "uploading", "acknowledgedOffset": 0})))
    with pytest.raises(PartnerProtocolError):
        client.upload_file(upload=up, source=data)
