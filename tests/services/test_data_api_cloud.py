"""The data API's `cloud_uploads` dataset reads the provincial health-cloud ledger (LC-1, HC-1): rows of the
studies matched to an exam with state and progress, filters, masked names, and an incremental sync by the
ledger rows' own change time with cursor pages and tombstones for skipped studies. The ledger is filled by
its own services against the cloud emulator on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from backend.ports import Ports
from backend.services import settings_store
from backend.services.base import Services
from backend.services.data_api import read
from backend.services.health_cloud import ledger
from tests.cloud_ledger_helpers import put_study, receive, run_jobs
from tests.data_api_helpers import key_actor, settle
from tests.reporting_helpers import exam_at
from tests.services.test_data_api_sync import before, sync


@pytest.fixture
def ports(cloud_ports: Ports) -> Ports:
    return cloud_ports  # the health cloud's client pointed at the emulator (tests/conftest.py)


@pytest.fixture(autouse=True)
def one_worker(svc: Services, actors: Any) -> None:
    settings_store.put(svc, "health_cloud.parallel", 1, by=actors["admin"])  # the test's sessions share one connection


def _study_of_exam(svc: Services, actors: Any, mrn: str, **kw: Any) -> tuple[dict[str, Any], str, dict[str, bytes]]:
    """A completed chest DR exam of patient `mrn` (named 王建国) and its study archived under its accession."""
    exam = exam_at(svc, actors, "completed", mrn=mrn, name="王建国")
    study_uid, blobs = put_study(svc, accession=exam["accession"], patient_id=mrn, modality="DX", **kw)
    return exam, study_uid, blobs


def test_the_dataset_lists_matched_studies_with_state_and_progress(svc, clock, actors):
    exam, study_uid, blobs = _study_of_exam(svc, actors, "M0770001", slices=3)
    waiting, waiting_uid, _ = _study_of_exam(svc, actors, "M0770002", slices=1)
    put_study(svc, accession="NOEXAM0001", patient_id="P-ELSEWHERE")  # on the ledger, matched to no exam
    receive(svc, clock)
    ledger.find_candidates(svc)
    ledger.skip(svc, waiting_uid, by=actors["admin"])  # taken off before it is sent
    run_jobs(svc, clock)
    assert len(ledger.list_ledger(svc, by=actors["admin"])) == 3
    key = key_actor(svc, actors["admin"])
    items = read.read(svc, "cloud_uploads", {}, by=key).items
    assert [i["study_uid"] for i in items] == [study_uid, waiting_uid]  # the unmatched study is not a row
    item = items[0]
    assert (item["exam_id"], item["accession"], item["modality"], item["patient_mrn"], item["state"]) == (
        exam["exam_id"], exam["accession"], "DX", "M0770001", "uploaded")
    assert (item["files_total"], item["files_done"]) == (3, 3)
    assert item["bytes_total"] == item["bytes_done"] == sum(len(b) for b in blobs.values())
    assert item["registration_id"]
    assert item["last_error"] == ""
    assert item["uploaded_at"] is not None
    assert item["expires_at"] > item["uploaded_at"]
    assert item["next_try_at"] is None
    assert item["patient_name"] != "王建国"
    assert item["patient_name"].startswith("王")
    pii = key_actor(svc, actors["admin"], [read.dataset("cloud_uploads").scope, "data.pii"], name="有权限")
    assert {i["patient_name"] for i in read.read(svc, "cloud_uploads", {}, by=pii).items} == {"王建国"}

    assert [i["id"] for i in read.read(svc, "cloud_uploads", {"state": ["skipped"]}, by=key).items] == [items[1]["id"]]
    (skipped,) = read.read(svc, "cloud_uploads", {"accession": [waiting["accession"]]}, by=key).items
    assert (skipped["state"], skipped["last_error"]) == ("skipped", "已手动移出上传")
    assert [i["id"] for i in read.read(svc, "cloud_uploads", {"study_uid": [study_uid]}, by=key).items] == [item["id"]]
    assert read.read(svc, "cloud_uploads", {"state": ["failed"]}, by=key).items == []
    at = item["created_at"]  # both were put on the ledger by one run of the job
    assert len(read.read(svc, "cloud_uploads", {"created_at_from": [at]}, by=key).items) == 2
    assert read.read(svc, "cloud_uploads", {"created_at_to": [at]}, by=key).items == []


def test_the_sync_follows_the_ledger_and_reports_skipped_studies_as_cancelled(svc, clock, actors):
    key = key_actor(svc, actors["admin"])
    _first, first_uid, _ = _study_of_exam(svc, actors, "M0770011", slices=1)
    _second, second_uid, _ = _study_of_exam(svc, actors, "M0770012", slices=1)
    receive(svc, clock)
    since = before(clock)
    ledger.find_candidates(svc)  # both on the ledger, pending: nothing sent yet
    settle(clock)
    items, tombs, nxt = sync(svc, key, "cloud_uploads", since, limit=1)  # two pages by cursor
    assert [(i["study_uid"], i["state"]) for i in items] == [(first_uid, "pending"), (second_uid, "pending")]
    assert tombs == []
    second_id = items[1]["id"]
    assert sync(svc, key, "cloud_uploads", nxt)[:2] == ([], [])  # nothing changed since

    ledger.skip(svc, second_uid, by=actors["admin"])  # a person removes it
    run_jobs(svc, clock)
    settle(clock)
    items, tombs, nxt = sync(svc, key, "cloud_uploads", nxt)
    assert [(i["study_uid"], i["state"], i["files_done"]) for i in items] == [
        (first_uid, "uploaded", 1), (second_uid, "skipped", 0)]  # in change order (the same moment: by id)
    assert [(t["id"], t["reason"], t["at"]) for t in tombs] == [(second_id, "cancelled", items[1]["updated_at"])]

    settings_store.put(svc, "health_cloud.patient_classes", ["inpatient"], by=actors["admin"])
    _third, third_uid, _ = _study_of_exam(svc, actors, "M0770013", slices=1)  # an outpatient: the rule excludes it
    receive(svc, clock)
    ledger.find_candidates(svc)
    settle(clock)
    items, tombs, _ = sync(svc, key, "cloud_uploads", nxt)
    assert [(i["study_uid"], i["state"]) for i in items] == [(third_uid, "skipped")]
    assert items[0]["last_error"]  # the rule's reason
    assert [(t["id"], t["reason"]) for t in tombs] == [(items[0]["id"], "cancelled")]
