"""Cadre-health upload end to end (CD-1..CD-4) against the real emulator and a moto S3 server on loopback:
approval queues a covered patient's exam, the job stores every original file, posts its details, then the
report (its PDF stored too); token expiry, every fault switch, an amended report as a new version, and the
admin's add / remove / retry on the ledger."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.db.models import CadreUploadFile, Outbox
from backend.domain.errors import Conflict, Forbidden
from backend.ports.cadre_health import CoveredPerson
from backend.services.base import transaction
from backend.services.cadre_health import ledger, roster, upload
from backend.services.imaging import archive
from integrations.cadre_health.client import HttpCadreHealthClient
from integrations.cadre_health.emulator import CadreHealthEmulator
from integrations.object_storage.loopback import LoopbackS3
from integrations.object_storage.s3 import S3ObjectStore, make_client
from tests.cadre_helpers import ORG, PERSON, add_structured_section, amend_and_approve, covered_exam
from tests.fakes import fake_ports

REGION = "cn-hangzhou"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[LoopbackS3]:
    server = LoopbackS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server: LoopbackS3) -> Iterator[Any]:
    client = make_client(endpoint_url=s3_server.url, access_key="radops", secret_key="radops-secret")
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"cadre-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def emulator() -> Iterator[CadreHealthEmulator]:
    emu = CadreHealthEmulator().start()
    emu.add_person(PERSON)
    yield emu
    emu.stop()


@pytest.fixture
def settings(settings: Any, bucket: str) -> Any:
    return settings.with_(cadre_s3_bucket=bucket, cadre_health_org_code=ORG)


@pytest.fixture
def ports(emulator: CadreHealthEmulator, s3: Any, bucket: str) -> Iterator[Any]:
    http = httpx.Client(base_url=emulator.url, timeout=httpx.Timeout(2, connect=2))
    client = HttpCadreHealthClient(http, client_id="radops", client_secret="radops-demo-secret", org_code=ORG)
    yield replace(fake_ports(), cadre_health=client, cadre_storage=S3ObjectStore(s3, bucket=bucket))
    http.close()


def refresh_roster(svc: Any) -> None:
    assert roster.refresh(svc) == {"covered": 1, "removed": 0}


def the_row(svc: Any, actors: Any, exam_id: int) -> dict[str, Any]:
    [row] = [r for r in ledger.list_uploads(svc, by=actors["admin"]) if r["exam_id"] == exam_id]
    return row


def test_an_approved_exam_of_a_covered_patient_goes_up_files_first_then_the_report(svc, actors, emulator, s3,
                                                                                  bucket):
    refresh_roster(svc)
    add_structured_section(svc)
    exam = covered_exam(svc, actors, files=3, extra={"lung_rads": "3"})
    row = the_row(svc, actors, exam["exam_id"])
    assert (row["state"], row["source"], row["state_label"]) == ("pending", "roster", "待上传")
    assert upload.send_due(svc) == {"sent": 1, "retried": 0, "dead": 0, "lost": 0}
    assert emulator.state.snapshot()["files"] == 3
    with transaction(svc, readonly=True) as tx:
        files = [SimpleNamespace(object_key=f.object_key, sop_uid=f.sop_uid, sha256=f.sha256, file_id=f.file_id)
                 for f in tx.session.scalars(select(CadreUploadFile))]
    assert len(files) == 3
    for f in files:
        body = s3.get_object(Bucket=bucket, Key=f.object_key)["Body"].read()
        assert body == archive.read_instance(svc, f.sop_uid)
        assert hashlib.sha256(body).hexdigest() == f.sha256 == emulator.state.files[f.file_id]["checksum"]
        assert emulator.state.files[f.file_id]["objectKey"] == f.object_key
        assert emulator.state.files[f.file_id]["studyInstanceUid"] == exam["study_uid"]
    [(key, sent)] = emulator.state.reports.items()
    assert key[1] == 1
    assert sorted(sent["fileIds"]) == sorted(f.file_id for f in files)
    assert sent["structured"] == {"lung_rads": "3"}
    assert sent["amended"] is False
    assert sent["impression"]
    pdf = s3.get_object(Bucket=bucket, Key=sent["pdfObjectKey"])["Body"].read()
    assert pdf.startswith(b"%PDF")
    row = the_row(svc, actors, exam["exam_id"])
    assert (row["state"], row["files_done"], row["files_total"], row["report_version"]) == ("done", 3, 3, 1)
    assert upload.send_due(svc) is None  # nothing left: sent once
    assert all(n == 1 for n in emulator.state.posts.values())


def test_patients_neither_on_the_roster_nor_flagged_queue_nothing(svc, actors):
    refresh_roster(svc)
    covered_exam(svc, actors, id_card="110101199001011237")
    assert ledger.list_uploads(svc, by=actors["admin"]) == []
    assert upload.send_due(svc) is None


def test_a_flagged_patient_the_system_does_not_cover_fails_for_good_with_the_reason(svc, actors, emulator):
    exam = covered_exam(svc, actors, id_card="110101199001011237", flag=True, files=1)
    assert the_row(svc, actors, exam["exam_id"])["source"] == "flag"
    assert upload.send_due(svc) == {"sent": 0, "retried": 0, "dead": 1, "lost": 0}
    row = the_row(svc, actors, exam["exam_id"])
    assert row["state"] == "dead"
    assert "非保健对象" in row["last_error"]
    assert row["next_try_at"] is None
    # The system adds the person; a person retries from the ledger.
    emulator.add_person(CoveredPerson(id_no="110101199001011237", name="李"))
    assert ledger.retry(svc, row["id"], by=actors["admin"])["state"] == "pending"
    assert upload.send_due(svc)["sent"] == 1
    assert the_row(svc, actors, exam["exam_id"])["state"] == "done"


def test_an_expired_token_is_renewed_once_and_the_upload_goes_on(svc, actors, emulator):
    refresh_roster(svc)
    exam = covered_exam(svc, actors, files=2)
    emulator.set_faults(expire_tokens=True)
    assert upload.send_due(svc)["sent"] == 1
    snap = emulator.state.snapshot()
    assert (snap["token_requests"], snap["refused_tokens"], snap["files"], snap["reports"]) == (2, 1, 2, 1)
    assert the_row(svc, actors, exam["exam_id"])["state"] == "done"


def test_a_busy_system_is_retried_after_the_back_off_and_nothing_is_stored_twice(svc, actors, emulator, clock):
    refresh_roster(svc)
    exam = covered_exam(svc, actors, files=2)
    emulator.set_faults(fail=1)
    assert upload.send_due(svc)["retried"] == 1
    row = the_row(svc, actors, exam["exam_id"])
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert "暂不可用" in row["last_error"]
    assert row["next_try_at"] is not None
    assert upload.send_due(svc) is None  # not due before the back-off
    clock.advance(minutes=2)
    assert upload.send_due(svc)["sent"] == 1
    assert emulator.state.snapshot()["files"] == 2
    assert all(n == 1 for n in emulator.state.posts.values())


def test_a_dropped_answer_is_posted_again_and_the_system_keeps_one(svc, actors, emulator, clock):
    refresh_roster(svc)
    exam = covered_exam(svc, actors, files=2)
    emulator.set_faults(drop=1)
    assert upload.send_due(svc)["retried"] == 1
    clock.advance(minutes=2)
    assert upload.send_due(svc)["sent"] == 1
    assert emulator.state.snapshot()["files"] == 2
    assert sorted(emulator.state.posts.values()) == [1, 1, 2]  # the dropped one arrived twice, kept once
    assert the_row(svc, actors, exam["exam_id"])["files_done"] == 2


def test_a_duplicate_answer_counts_as_done(svc, actors, emulator):
    refresh_roster(svc)
    exam = covered_exam(svc, actors, files=1)
    emulator.set_faults(duplicate=True)
    assert upload.send_due(svc)["sent"] == 1
    assert the_row(svc, actors, exam["exam_id"])["state"] == "done"


def test_a_slow_system_times_out_and_is_retried(svc, actors, emulator, clock):
    refresh_roster(svc)
    exam = covered_exam(svc, actors, files=1)
    emulator.set_faults(slow=3)  # the client waits 2 s
    assert upload.send_due(svc)["retried"] == 1
    emulator.set_faults(slow=0)
    clock.advance(minutes=2)
    assert upload.send_due(svc)["sent"] == 1
    assert the_row(svc, actors, exam["exam_id"])["state"] == "done"


def test_an_amended_report_is_posted_as_a_new_version_without_sending_the_files_again(svc, actors, emulator):
    refresh_roster(svc)
    exam = covered_exam(svc, actors, files=2)
    upload.send_due(svc)
    amend_and_approve(svc, actors, exam["exam_id"], "更正：良性结节")
    assert the_row(svc, actors, exam["exam_id"])["state"] == "pending"
    assert upload.send_due(svc)["sent"] == 1
    versions = sorted(emulator.state.reports)
    assert [v for _id, v in versions] == [1, 2]
    second = emulator.state.reports[versions[1]]
    assert (second["amended"], second["impression"]) == (True, "更正：良性结节")
    assert second["pdfObjectKey"].endswith("/report/v2.pdf")
    assert all(n == 1 for n in emulator.state.posts.values())  # the files went once
    assert the_row(svc, actors, exam["exam_id"])["report_version"] == 2


def test_an_admin_adds_and_removes_exams_by_hand(svc, actors, emulator):
    exam = covered_exam(svc, actors, files=1)  # on the system's roster, not yet in ours
    assert ledger.list_uploads(svc, by=actors["admin"]) == []
    with pytest.raises(Forbidden):
        ledger.add(svc, exam["accession"], by=actors["clerk"])
    row = ledger.add(svc, exam["accession"], by=actors["admin"])
    assert (row["source"], row["state"]) == ("manual", "pending")
    with pytest.raises(Conflict):
        ledger.add(svc, exam["accession"], by=actors["admin"])
    assert ledger.remove(svc, row["id"], by=actors["admin"])["state"] == "cancelled"
    assert upload.send_due(svc)["sent"] == 1  # the queued unit is skipped
    assert emulator.state.snapshot()["files"] == 0
    assert ledger.add(svc, exam["accession"], by=actors["admin"])["state"] == "pending"  # a new generation
    assert upload.send_due(svc)["sent"] == 1
    assert emulator.state.snapshot()["files"] == 1
    assert the_row(svc, actors, exam["exam_id"])["state"] == "done"
    assert ledger.counts(svc, by=actors["admin"])["done"] == 1
    with transaction(svc, readonly=True) as tx:
        assert len(list(tx.session.scalars(select(Outbox).where(Outbox.kind == ledger.KIND)))) == 2
