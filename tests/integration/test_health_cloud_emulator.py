"""The real client against the cloud emulator over loopback HTTP, with every fault switch: dropped
connections (resume sends only the missing chunks), lost replies (never counted twice), 5xx, duplicates,
stale signatures, slowness; signed-request refusals; the three-month window by the cloud's own clock;
the old interface's records and the link to them (HC-4..HC-9)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backend.domain.health_cloud import file_idempotency_key
from backend.ports.health_cloud import CloudFile, CloudFileEntry, CloudStudy
from integrations.errors import PartnerRejected, PartnerUnavailable
from integrations.health_cloud import signing
from integrations.health_cloud.client import CloudCredentials, HttpHealthCloud, RetryPolicy
from integrations.health_cloud.emulator import HealthCloudEmulator
from integrations.health_cloud.emulator_state import LegacyRecord

APP, SECRET, HOSPITAL = "APP001", "emulated-secret", "H33010001"
KiB = 1024
CHUNK = 256 * KiB
# 10:00 on 27 Nov 2026 in Shanghai.
START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock):
    emu = HealthCloudEmulator(apps={APP: SECRET}, clock=clock).start()
    yield emu
    emu.stop()


def make_client(emulator, *, secret: str = SECRET, attempts: int = 4, timeout: float = 10, clock=None,
                **kw) -> HttpHealthCloud:
    http = httpx.Client(base_url=emulator.url, timeout=httpx.Timeout(timeout, connect=5))
    return HttpHealthCloud(http, CloudCredentials(APP, secret, HOSPITAL), chunk_size=CHUNK,
                           retry=RetryPolicy(attempts=attempts, backoff_s=0.01), clock=clock or emulator.now, **kw)


@pytest.fixture
def client(emulator):
    c = make_client(emulator)
    yield c
    c.client.close()


def series(n: int = 3, size: int = 600 * KiB, *, uid: str = "1.2.156.1", day: date = date(2026, 11, 27),
           old: str = "") -> tuple[CloudStudy, list[bytes]]:
    blobs = [os.urandom(size) for _ in range(n)]
    entries = tuple(CloudFileEntry(f"{uid}.{i}", f"{uid}.100", len(b), hashlib.sha256(b).hexdigest())
                    for i, b in enumerate(blobs))
    return CloudStudy(accession=f"CT{uid[-3:]}", study_uid=uid, patient_id="P0001", patient_name="王秀英",
                      modality="CT", study_date=day, files=entries, old_cloud_id=old), blobs


def files_of(study: CloudStudy, registration_id: str) -> list[CloudFile]:
    return [CloudFile(registration_id, e.sop_instance_uid, e.size, e.sha256,
                      file_idempotency_key(hospital_code=HOSPITAL, study_uid=study.study_uid,
                                           sop_instance_uid=e.sop_instance_uid, sha256=e.sha256))
            for e in study.files]


def stored(emulator, upload_id: str) -> list[int]:
    return [offset for up, offset, _n, outcome in emulator.state.chunk_log if up == upload_id and outcome == "stored"]


def test_a_study_is_registered_uploaded_and_listed(emulator, client):
    study, blobs = series()
    reg = client.register_study(study=study)
    uploads = client.open_uploads(registration_id=reg.registration_id, files=files_of(study, reg.registration_id))
    for up, blob in zip(uploads, blobs, strict=True):
        receipt = client.upload_file(upload=up, source=blob)
        assert receipt.bytes_sent == len(blob)
    [listed] = client.list_studies()
    assert (listed.registration_id, listed.files_received, listed.image_count) == (reg.registration_id, 3, 3)
    assert listed.expires_at == datetime(2027, 2, 28, 0, 0, tzinfo=emulator.state.tz)
    assert [emulator.stored_file(study.study_uid, e.sop_instance_uid) for e in study.files] == blobs


def test_a_file_on_disk_is_read_chunk_by_chunk(emulator, client, tmp_path):
    study, [blob] = series(1, 700 * KiB)
    path = tmp_path / "slice.dcm"
    path.write_bytes(blob)
    reg = client.register_study(study=study)
    [up] = client.open_uploads(registration_id=reg.registration_id, files=files_of(study, reg.registration_id))
    client.upload_file(upload=up, source=path)
    assert emulator.stored_file(study.study_uid, study.files[0].sop_instance_uid) == blob
    assert stored(emulator, up.upload_id) == [0, CHUNK, 2 * CHUNK]


def test_a_dropped_connection_resumes_with_only_the_missing_chunks(emulator, client):
    study, [blob] = series(1, 1000 * KiB)
    reg = client.register_study(study=study)
    [up] = client.open_uploads(registration_id=reg.registration_id, files=files_of(study, reg.registration_id))
    tripped = []

    def drop_the_third_chunk(acknowledged: int, _total: int) -> None:
        if acknowledged == 2 * CHUNK and not tripped:
            tripped.append(True)
            emulator.set_faults(drop_chunk_next=1)

    client.upload_file(upload=up, source=blob, on_progress=drop_the_third_chunk)
    outcomes = [(offset, outcome) for u, offset, _n, outcome in emulator.state.chunk_log if u == up.upload_id]
    assert outcomes == [(0, "stored"), (CHUNK, "stored"), (2 * CHUNK, "dropped"), (2 * CHUNK, "stored"),
                        (3 * CHUNK, "stored")]
    assert emulator.stored_file(study.study_uid, study.files[0].sop_instance_uid) == blob


def test_after_a_crash_a_new_client_sends_only_what_the_cloud_lacks(emulator):
    study, [blob] = series(1, 1000 * KiB)
    crashed = make_client(emulator, attempts=1)
    reg = crashed.register_study(study=study)
    files = files_of(study, reg.registration_id)
    [up] = crashed.open_uploads(registration_id=reg.registration_id, files=files)
    emulator.state.chunk_log.clear()

    def crash_after_two(acknowledged: int, _total: int) -> None:
        if acknowledged == 2 * CHUNK:
            emulator.set_faults(drop_chunk_next=1)

    with pytest.raises(PartnerUnavailable):
        crashed.upload_file(upload=up, source=blob, on_progress=crash_after_two)
    restarted = make_client(emulator)
    [again] = restarted.open_uploads(registration_id=reg.registration_id, files=files)
    assert (again.upload_id, again.acknowledged, again.complete) == (up.upload_id, 2 * CHUNK, False)
    receipt = restarted.upload_file(upload=again, source=blob)
    assert (receipt.resumed_from, receipt.bytes_sent) == (2 * CHUNK, len(blob) - 2 * CHUNK)
    assert stored(emulator, up.upload_id) == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert emulator.stored_file(study.study_uid, study.files[0].sop_instance_uid) == blob


def test_a_lost_reply_to_the_last_chunk_never_counts_the_file_twice(emulator, client):
    study, [blob] = series(1, 100 * KiB)
    reg = client.register_study(study=study)
    files = files_of(study, reg.registration_id)
    [up] = client.open_uploads(registration_id=reg.registration_id, files=files)
    emulator.set_faults(lose_reply_next=1)
    client.upload_file(upload=up, source=blob)  # the cloud finished, the answer was lost: status says so
    [again] = client.open_uploads(registration_id=reg.registration_id, files=files)
    assert again.complete
    assert client.upload_file(upload=again, source=blob).already_complete
    [listed] = client.list_studies()
    assert listed.files_received == 1
    assert stored(emulator, up.upload_id) == [0]


def test_server_errors_are_retried_and_a_dead_cloud_is_unavailable(emulator, client):
    study, _ = series(1, 10 * KiB)
    emulator.set_faults(fail_next=2)
    assert client.register_study(study=study).registration_id
    assert [status for _m, _p, status in emulator.requests] == [200]  # the two 503s never reached the API
    emulator.set_faults(fail_rate=1.0)
    with pytest.raises(PartnerUnavailable) as exc:
        client.list_studies()
    assert "暂不可用" in exc.value.message


def test_a_duplicate_answers_the_existing_registration_either_way(emulator, client):
    study, _ = series(2, 10 * KiB)
    first = client.register_study(study=study)
    again = client.register_study(study=study)
    assert (again.registration_id, again.duplicate) == (first.registration_id, True)
    emulator.set_faults(duplicate_as_error=True)
    refused = client.register_study(study=study)
    assert (refused.registration_id, refused.duplicate) == (first.registration_id, True)
    assert len(emulator.state.studies) == 1


def test_stale_signatures_are_signed_again_until_the_cloud_keeps_refusing(emulator, client):
    study, _ = series(1, 10 * KiB)
    emulator.set_faults(expire_next=1)
    assert client.register_study(study=study).registration_id
    emulator.set_faults(expire_next=10)
    with pytest.raises(PartnerRejected) as exc:
        client.list_studies()
    assert exc.value.details["partner_code"] == "40102"


def test_a_client_clock_ten_minutes_late_follows_the_clouds_time(emulator, clock):
    late = make_client(emulator, clock=lambda: clock() - timedelta(minutes=10))
    study, _ = series(1, 10 * KiB)
    assert late.register_study(study=study).registration_id
    assert [status for _m, _p, status in emulator.requests] == [401, 200]


def test_a_wrong_secret_is_refused(emulator):
    study, _ = series(1, 10 * KiB)
    with pytest.raises(PartnerRejected) as exc:
        make_client(emulator, secret="guessed").register_study(study=study)
    assert exc.value.details["partner_code"] == "40105"
    assert exc.value.details["status"] == 401


def test_a_replayed_request_is_refused(emulator):
    path = "/api/v1/studies?hospitalCode=H33010001&page=1&pageSize=10"
    headers = signing.signed_headers(app_id=APP, secret=SECRET, method="GET", path=path,
                                     body_sha256=signing.EMPTY_SHA256,
                                     timestamp_ms=int(emulator.now().timestamp() * 1000), nonce="n-1")
    with httpx.Client(base_url=emulator.url, timeout=5) as http:
        assert http.get(path, headers=headers).json()["code"] == "0"
        replay = http.get(path, headers=headers)
        tampered = http.get(path.replace("pageSize=10", "pageSize=11"), headers=headers | {signing.NONCE: "n-2"})
    assert (replay.status_code, replay.json()["code"]) == (401, "40104")
    assert tampered.json()["code"] == "40105"


def test_a_slow_cloud_times_out_then_answers_when_given_time(emulator):
    study, _ = series(1, 10 * KiB)
    emulator.set_faults(slow_ms=300)
    impatient = make_client(emulator, timeout=0.05, attempts=2)
    with pytest.raises(PartnerUnavailable):
        impatient.register_study(study=study)
    assert make_client(emulator).register_study(study=study).registration_id


def test_a_file_whose_bytes_differ_from_its_checksum_is_refused_and_starts_over(emulator, client):
    study, [blob] = series(1, 300 * KiB)
    reg = client.register_study(study=study)
    [up] = client.open_uploads(registration_id=reg.registration_id, files=files_of(study, reg.registration_id))
    damaged = blob[:-1] + bytes([blob[-1] ^ 0xFF])
    with pytest.raises(PartnerRejected) as exc:
        client.upload_file(upload=up, source=damaged)
    assert exc.value.details["partner_code"] == "30004"
    [again] = client.open_uploads(registration_id=reg.registration_id, files=files_of(study, reg.registration_id))
    assert (again.acknowledged, again.complete) == (0, False)


def test_a_file_outside_the_registration_is_refused(emulator, client):
    study, _ = series(1, 10 * KiB)
    reg = client.register_study(study=study)
    stranger = CloudFile(reg.registration_id, "9.9.9", 10, "00" * 32, "key-x")
    with pytest.raises(PartnerRejected) as exc:
        client.open_uploads(registration_id=reg.registration_id, files=[stranger])
    assert exc.value.details["partner_code"] == "30001"


def test_the_cloud_drops_a_study_at_the_end_of_its_window(emulator, client, clock):
    study, [blob] = series(1, 10 * KiB, day=date(2026, 11, 30))
    reg = client.register_study(study=study)
    [up] = client.open_uploads(registration_id=reg.registration_id, files=files_of(study, reg.registration_id))
    client.upload_file(upload=up, source=blob)
    # Kept through 28 Feb 2027 (30 Nov + 3 months, clamped), dropped at 00:00 on 1 Mar, Shanghai time.
    clock.at = datetime(2027, 2, 28, 15, 59, 59, tzinfo=UTC)
    assert [s.study_uid for s in client.list_studies()] == [study.study_uid]
    clock.at = datetime(2027, 2, 28, 16, 0, tzinfo=UTC)
    assert client.list_studies() == []
    assert emulator.state.dropped == [study.study_uid]
    assert emulator.stored_file(study.study_uid, study.files[0].sop_instance_uid) is None
    with pytest.raises(PartnerRejected) as exc:
        client.register_study(study=study)
    assert exc.value.details["partner_code"] == "20003"


def test_old_registrations_are_served_and_a_new_one_links_to_its_old_record(emulator, client):
    emulator.add_legacy(
        LegacyRecord("OLD-001", HOSPITAL, "CT156", "1.2.156.1", "P0001", "王秀英", date(2026, 11, 20),
                     datetime(2026, 11, 20, 10, 0, tzinfo=emulator.state.tz)),
        LegacyRecord("OLD-002", HOSPITAL, "CT157", "1.2.156.2", "P0002", "李明", date(2026, 11, 21),
                     datetime(2026, 11, 21, 10, 0, tzinfo=emulator.state.tz)),
        LegacyRecord("OLD-900", "H99", "X", "9.9", "P9", "", date(2026, 11, 21),
                     datetime(2026, 11, 21, 10, 0, tzinfo=emulator.state.tz)))
    olds = client.old_registrations()
    assert [(o.old_cloud_id, o.accession, o.study_uid, o.patient_id) for o in olds] == [
        ("OLD-001", "CT156", "1.2.156.1", "P0001"), ("OLD-002", "CT157", "1.2.156.2", "P0002")]
    linked, _ = series(1, 10 * KiB, uid="1.2.156.1", old="OLD-001")
    assert client.register_study(study=linked).old_cloud_id == "OLD-001"
    assert emulator.records_for("1.2.156.1") == 1
    unlinked, _ = series(1, 10 * KiB, uid="1.2.156.2")
    client.register_study(study=unlinked)
    assert emulator.records_for("1.2.156.2") == 2  # what HC-8 prevents: the cloud shows the study twice
    wrong, _ = series(1, 10 * KiB, uid="1.2.156.3", old="OLD-404")
    with pytest.raises(PartnerRejected) as exc:
        client.register_study(study=wrong)
    assert exc.value.details["partner_code"] == "20004"


def test_the_switches_and_the_clock_answer_on_the_admin_endpoint(emulator, clock):
    with httpx.Client(base_url=emulator.url, timeout=5) as http:
        state = http.post("/_emulator/faults", json={"fail_rate": 0.25, "duplicate_as_error": True}).json()["data"]
        assert state["faults"]["fail_rate"] == 0.25
        assert state["faults"]["duplicate_as_error"] is True
        moved = http.post("/_emulator/clock", json={"advanceDays": 30}).json()["data"]
        assert datetime.fromisoformat(moved["now"]) == START + timedelta(days=30)
        bad = http.post("/_emulator/faults", json={"explode": True})
    assert bad.status_code == 400


def test_the_emulator_runs_as_its_own_process():
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "integrations.health_cloud.emulator", "--port", "0"], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("health cloud emulator on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        with httpx.Client(base_url=url, timeout=5) as http:
            assert http.get("/_emulator/state").json()["data"]["studies"] == 0
            assert http.get("/api/v1/studies").json()["code"] == "40101"  # unsigned: refused
    finally:
        proc.terminate()
        proc.wait(timeout=10)
