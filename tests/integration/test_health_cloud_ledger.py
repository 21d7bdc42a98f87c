"""The health cloud's ledger end to end over real HTTP on loopback (HC-1, HC-4..HC-7): a study received in
the archive is selected, registered and uploaded through the outbox; every fault switch of the emulator;
a corrupt file refused without blocking the queue; an unexpected answer kept raw; skip, retry, add; the
cloud's window. The kill test is in test_health_cloud_kill.py."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import CloudLedgerFile, CloudLedgerStudy, Outbox
from backend.domain.health_cloud import CloudFileStatus, CloudStatus
from backend.domain.outbox import OutboxState
from backend.ports import Ports
from backend.services import settings_store
from backend.services.base import Services, transaction
from backend.services.health_cloud import ledger, upload
from backend.services.health_cloud.ledger import KIND_FILE, KIND_REGISTER
from backend.services.imaging import archive
from integrations.health_cloud.emulator import HealthCloudEmulator
from tests.cloud_ledger_helpers import cloud_client, put_study, receive, run_jobs
from tests.imaging_helpers import ct_slice, file_bytes, header


@pytest.fixture
def ports(cloud_ports: Ports) -> Ports:
    return cloud_ports  # the health cloud's client pointed at the emulator (tests/conftest.py)


@pytest.fixture(autouse=True)
def one_worker(svc: Services, actors: Any) -> None:
    # The test's sessions share one connection (rolled back after the test): one upload worker here; the
    # parallel workers run on a database of their own in the kill test.
    settings_store.put(svc, "health_cloud.parallel", 1, by=actors["admin"])


def _row(svc: Services, study_uid: str) -> CloudLedgerStudy:
    with transaction(svc, readonly=True) as tx:
        row = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.study_uid == study_uid)).one()
        tx.session.expunge(row)
        return row


def _files(svc: Services, study_uid: str) -> list[CloudLedgerFile]:
    with transaction(svc, readonly=True) as tx:
        study_id = tx.session.scalars(select(CloudLedgerStudy.id).where(CloudLedgerStudy.study_uid == study_uid)).one()
        rows = list(tx.session.scalars(select(CloudLedgerFile).where(CloudLedgerFile.cloud_study_id == study_id)))
        for r in rows:
            tx.session.expunge(r)
        return rows


def _stored_once(cloud_emulator: HealthCloudEmulator, study_uid: str, blobs: dict[str, bytes]) -> None:
    """The cloud has every file byte for byte, and stored each byte of it once (repeats are 'already')."""
    for sop, data in blobs.items():
        assert cloud_emulator.stored_file(study_uid, sop) == data
    with cloud_emulator.state.lock:
        by_upload = {u.upload_id: u for u in cloud_emulator.state.uploads.values()}
        stored = Counter[str]()
        for upload_id, _offset, length, what in cloud_emulator.state.chunk_log:
            if what == "stored":
                stored[upload_id] += length
        for upload_id, up in by_upload.items():
            if up.study_uid == study_uid:
                assert stored[upload_id] == up.size, (upload_id, stored[upload_id], up.size)


def test_a_received_study_is_registered_and_uploaded_end_to_end(svc: Services, clock: Any,
                                                                 cloud_emulator: HealthCloudEmulator,
                                                                 actors: Any) -> None:
    study_uid, blobs = put_study(svc, slices=5, size=300)  # ~180 KB files: three chunks each
    assert ledger.find_candidates(svc) is None  # not received yet: not a candidate
    receive(svc, clock)
    run_jobs(svc, clock)
    row = _row(svc, study_uid)
    assert row.status == CloudStatus.UPLOADED.value, (row.reason, row.raw_answer)
    assert (row.files_done, row.files_total, row.files_refused) == (5, 5, 0)
    assert row.bytes_done == sum(len(b) for b in blobs.values())
    assert row.registration_id in {s.registration_id for s in cloud_emulator.state.studies.values()}
    assert row.expires_at is not None
    assert row.uploaded_at is not None
    assert {f.status for f in _files(svc, study_uid)} == {CloudFileStatus.UPLOADED.value}
    _stored_once(cloud_emulator, study_uid, blobs)
    with transaction(svc, readonly=True) as tx:
        states = Counter(tx.session.scalars(select(Outbox.state).where(Outbox.kind.in_([KIND_REGISTER, KIND_FILE]))))
    assert states == {OutboxState.DONE.value: 6}
    listed = ledger.list_ledger(svc, by=actors["admin"], status=CloudStatus.UPLOADED)
    assert [r["study_uid"] for r in listed] == [study_uid]
    assert ledger.daily_volumes(svc, by=actors["admin"])[-1]["files"] == 5


@pytest.mark.parametrize("faults", [
    {"slow_ms": 30},
    {"fail_next": 3},
    {"fail_rate": 0.3},
    {"drop_chunk_next": 3},
    {"drop_chunk_rate": 0.3},
    {"lose_reply_next": 3},
    {"expire_next": 2},
], ids=lambda f: ",".join(f))
def test_every_fault_switch_ends_with_every_file_stored_once(svc: Services, clock: Any,
                                                             cloud_emulator: HealthCloudEmulator,
                                                             faults: dict[str, Any]) -> None:
    study_uid, blobs = put_study(svc, slices=4, size=300)
    receive(svc, clock)
    cloud_emulator.set_faults(**faults)
    run_jobs(svc, clock, rounds=40)
    row = _row(svc, study_uid)
    assert row.status == CloudStatus.UPLOADED.value, (row.status, row.reason)
    assert row.files_done == 4
    _stored_once(cloud_emulator, study_uid, blobs)


def test_a_duplicate_answer_to_a_repeated_registration_keeps_the_clouds_id(
        svc: Services, clock: Any, cloud_emulator: HealthCloudEmulator) -> None:
    study_uid, blobs = put_study(svc, slices=2)
    receive(svc, clock)
    # The first registration is done but its answer is lost; the repeat is refused as a duplicate without
    # the id (as some platforms do), and the client reads the id by the study UID.
    cloud_emulator.set_faults(duplicate_as_error=True, lose_reply_next=1)
    run_jobs(svc, clock)
    row = _row(svc, study_uid)
    assert row.status == CloudStatus.UPLOADED.value, row.reason
    assert [s.registration_id for s in cloud_emulator.state.studies.values()] == [row.registration_id]
    _stored_once(cloud_emulator, study_uid, blobs)


def test_late_images_register_again_and_send_only_the_new_file(svc: Services, clock: Any,
                                                               cloud_emulator: HealthCloudEmulator) -> None:
    study_uid, blobs = put_study(svc, slices=2)
    receive(svc, clock)
    run_jobs(svc, clock)
    first = _row(svc, study_uid)
    files = _files(svc, study_uid)
    ds = ct_slice(study_uid=study_uid, accession=first.accession, number=9, size=200, fill=9)
    late = file_bytes(ds)
    archive.store_instance(svc, header(ds), late)
    receive(svc, clock)
    run_jobs(svc, clock)
    row = _row(svc, study_uid)
    assert row.status == CloudStatus.UPLOADED.value, row.reason
    assert row.registration_id == first.registration_id
    assert (row.files_done, row.files_total) == (3, 3)
    again = {f.id: (f.upload_id, f.uploaded_at) for f in _files(svc, study_uid)}
    assert all(again[f.id] == (f.upload_id, f.uploaded_at) for f in files)  # the first two were not sent again
    _stored_once(cloud_emulator, study_uid, {**blobs, str(ds.SOPInstanceUID): late})


def test_a_corrupt_file_is_refused_with_a_reason_and_does_not_block_the_queue(
        svc: Services, clock: Any, cloud_emulator: HealthCloudEmulator,
                                                                 actors: Any) -> None:
    bad_uid, bad_blobs = put_study(svc, slices=3)
    good_uid, good_blobs = put_study(svc, slices=2)
    receive(svc, clock)
    ledger.find_candidates(svc)
    upload.register_studies(svc)
    broken = next(iter(bad_blobs))
    path = archive.instance_path(svc, broken)
    assert path is not None
    path.write_bytes(b"\x00" * 100)  # the archived file is damaged after registration
    run_jobs(svc, clock)
    bad, good = _row(svc, bad_uid), _row(svc, good_uid)
    assert good.status == CloudStatus.UPLOADED.value
    assert bad.status == CloudStatus.FAILED.value
    assert (bad.files_done, bad.files_refused) == (2, 1)
    assert "1 个文件无法上传" in bad.reason
    refused = next(f for f in _files(svc, bad_uid) if f.sop_instance_uid == broken)
    assert refused.status == CloudFileStatus.REFUSED.value
    assert "校验值" in refused.reason
    assert cloud_emulator.stored_file(bad_uid, broken) is None
    _stored_once(cloud_emulator, good_uid, good_blobs)
    # Repaired, and retried by a person: only the refused file goes.
    path.write_bytes(bad_blobs[broken])
    ledger.retry(svc, bad_uid, by=actors["admin"])
    run_jobs(svc, clock)
    assert _row(svc, bad_uid).status == CloudStatus.UPLOADED.value
    _stored_once(cloud_emulator, bad_uid, bad_blobs)


def test_a_change_of_the_file_counts_is_a_change_of_the_study_row(svc: Services, clock: Any) -> None:
    """A file refused while the others still wait changes the study's counts and its `updated_at` (the data
    API's incremental sync reads it); counting again with nothing changed leaves `updated_at` alone."""
    study_uid, _blobs = put_study(svc, slices=3)
    receive(svc, clock)
    ledger.find_candidates(svc)
    upload.register_studies(svc)
    before = _row(svc, study_uid)
    assert (before.files_total, before.files_refused) == (3, 0)
    later = clock.advance(minutes=5)
    with transaction(svc) as tx:
        row = tx.session.scalars(select(CloudLedgerStudy).where(CloudLedgerStudy.study_uid == study_uid)).one()
        one = tx.session.scalars(select(CloudLedgerFile).where(CloudLedgerFile.cloud_study_id == row.id)).first()
        assert one is not None
        one.status = CloudFileStatus.REFUSED.value
        tx.session.flush()
        upload._recount(tx, row)
    after = _row(svc, study_uid)
    assert after.files_refused == 1
    assert after.updated_at == later
    clock.advance(minutes=5)
    with transaction(svc) as tx:
        upload._recount(tx, tx.session.get(CloudLedgerStudy, after.id))  # type: ignore[arg-type]
    assert _row(svc, study_uid).updated_at == later


class _OddCloud(BaseHTTPRequestHandler):
    """A cloud that answers success with a body the interface does not promise."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        raw = json.dumps({"code": "0", "message": "ok", "data": {"regId": "X-1"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_an_unexpected_answer_is_a_failure_with_the_raw_answer_kept(svc: Services, clock: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddCloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = cloud_client(f"http://127.0.0.1:{server.server_address[1]}")
        svc.ports = replace(svc.ports, health_cloud=client)
        study_uid, _ = put_study(svc, slices=1)
        receive(svc, clock)
        ledger.find_candidates(svc)
        assert upload.register_studies(svc) == {"done": 0, "retried": 1, "dead": 0}
        client.client.close()
    finally:
        server.shutdown()
        server.server_close()
    row = _row(svc, study_uid)
    assert row.status == CloudStatus.PENDING.value  # retried later, after the back-off shown on the ledger
    assert "缺少必要字段" in row.reason
    assert '"regId"' in row.raw_answer or "regId" in row.raw_answer
    assert row.next_retry_at is not None


def test_skip_add_and_the_rule_of_what_goes(svc: Services, clock: Any, cloud_emulator: HealthCloudEmulator,
                                            actors: Any) -> None:
    settings_store.put(svc, "health_cloud.modalities", ["MR"], by=actors["admin"])
    ct_uid, _ = put_study(svc, slices=1)
    mr_uid, _ = put_study(svc, slices=1, modality="MR")
    receive(svc, clock)
    ledger.find_candidates(svc)
    assert _row(svc, ct_uid).status == CloudStatus.SKIPPED.value
    assert "设备类型" in _row(svc, ct_uid).reason
    ledger.skip(svc, mr_uid, by=actors["admin"])
    run_jobs(svc, clock)
    assert _row(svc, mr_uid).status == CloudStatus.SKIPPED.value  # its queued registration was dropped
    assert not cloud_emulator.state.studies
    ledger.add(svc, study_uid=ct_uid, by=actors["admin"])
    run_jobs(svc, clock)
    assert _row(svc, ct_uid).status == CloudStatus.UPLOADED.value
    assert _row(svc, ct_uid).manual == "add"


def test_the_cloud_window_expires_studies_and_nothing_is_sent_again_unless_asked(
        svc: Services, clock: Any, cloud_emulator: HealthCloudEmulator,
                                                                 actors: Any) -> None:
    study_uid, _ = put_study(svc, slices=1)
    receive(svc, clock)
    run_jobs(svc, clock)
    row = _row(svc, study_uid)
    assert row.expires_at is not None
    clock.set(row.expires_at + timedelta(minutes=1))
    assert ledger.expire(svc) == {"expired": 1}
    assert _row(svc, study_uid).status == CloudStatus.EXPIRED.value
    run_jobs(svc, clock)
    assert _row(svc, study_uid).status == CloudStatus.EXPIRED.value


def test_old_registrations_are_matched_and_the_new_registration_links_its_old_record(
        svc: Services, clock: Any, cloud_emulator: HealthCloudEmulator,
                                                                 actors: Any) -> None:
    from datetime import date, datetime

    from backend.services.health_cloud import old_links
    from integrations.health_cloud.emulator_state import LegacyRecord
    from tests.cloud_ledger_helpers import HOSPITAL
    from tests.helpers import register

    exam = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    day, at = date(2026, 11, 20), datetime(2026, 11, 20, 3, 0, tzinfo=clock().tzinfo)
    cloud_emulator.add_legacy(
        LegacyRecord("OLD-1", HOSPITAL, exam["accession"], "", "P1", "王秀英", day, at),
        LegacyRecord("OLD-2", HOSPITAL, exam["accession"], "", "P1", "王秀英", day, at),  # the same exam again
        LegacyRecord("OLD-3", HOSPITAL, "NOSUCH", "", "NOBODY", "李四", day, at))
    counts = old_links.import_old(svc, by=actors["admin"])
    assert (counts["accession"], counts["conflict"], counts["none"]) == (1, 1, 1)
    links = old_links.list_links(svc, by=actors["admin"])
    assert [x["old_cloud_id"] for x in links[:2]] == ["OLD-2", "OLD-3"]  # problems first
    assert "同一检查" in links[0]["note"]
    study_uid, _blobs = put_study(svc, slices=1, accession=exam["accession"])
    receive(svc, clock)
    run_jobs(svc, clock)
    row = _row(svc, study_uid)
    assert row.status == CloudStatus.UPLOADED.value
    assert row.old_cloud_id == "OLD-1"
    assert cloud_emulator.records_for(study_uid) == 1
    (cloud_study,) = cloud_emulator.state.studies.values()
    assert cloud_study.old_cloud_id == "OLD-1"
    assert cloud_emulator.state.legacy["OLD-1"].linked_registration_id == row.registration_id


def test_reconcile_lists_in_dry_run_and_applies_expiry_and_loss(svc: Services, clock: Any,
                                                                 cloud_emulator: HealthCloudEmulator,
                                                                 actors: Any) -> None:
    from backend.services.health_cloud import old_links

    kept_uid, _ = put_study(svc, slices=1)
    lost_uid, _ = put_study(svc, slices=1)
    receive(svc, clock)
    run_jobs(svc, clock)
    assert old_links.reconcile(svc, by=actors["admin"])["changes"] == []
    with cloud_emulator.state.lock:  # the cloud loses one study before its time
        for key in [k for k, s in cloud_emulator.state.studies.items() if s.study_uid == lost_uid]:
            del cloud_emulator.state.studies[key]
    dry = old_links.reconcile(svc, by=actors["admin"], dry_run=True)
    assert [(c["study_uid"], c["to"]) for c in dry["changes"]] == [(lost_uid, CloudStatus.FAILED.value)]
    assert _row(svc, lost_uid).status == CloudStatus.UPLOADED.value  # a dry run changes nothing
    old_links.reconcile(svc, by=actors["admin"], dry_run=False)
    assert _row(svc, lost_uid).status == CloudStatus.FAILED.value
    assert "云端列表中没有" in _row(svc, lost_uid).reason
    kept = _row(svc, kept_uid)
    assert kept.expires_at is not None
    clock.set(kept.expires_at + timedelta(hours=1))  # the cloud's clock follows: it drops the study
    cloud_emulator.state.purge(cloud_emulator.now())
    dry = old_links.reconcile(svc, by=actors["admin"], dry_run=True)
    assert [(c["study_uid"], c["to"]) for c in dry["changes"]] == [(kept_uid, CloudStatus.EXPIRED.value)]
    old_links.reconcile(svc, by=actors["admin"], dry_run=False)
    assert _row(svc, kept_uid).status == CloudStatus.EXPIRED.value


def test_the_exam_detail_says_whether_its_images_are_on_the_cloud(svc: Services, clock: Any,
                                                                    cloud_emulator: HealthCloudEmulator,
                                                                 actors: Any) -> None:
    from backend.services.orders import exam_detail
    from tests.helpers import register

    exam = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    assert exam_detail.detail(svc, exam["exam_id"], by=actors["admin"])["cloud"] is None
    put_study(svc, slices=2, accession=exam["accession"])
    receive(svc, clock)
    ledger.find_candidates(svc)
    assert exam_detail.detail(svc, exam["exam_id"], by=actors["admin"])["cloud"] == "待登记"
    run_jobs(svc, clock)
    assert exam_detail.detail(svc, exam["exam_id"], by=actors["admin"])["cloud"] == "已上传，云端保存至 2027-02-27"
