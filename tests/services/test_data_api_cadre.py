"""The data API's `cadre_uploads` dataset reads the cadre-health upload ledger (LC-1, CD-1): rows with state
and progress, filters, masked names, and an incremental sync by the ledger rows' own change time with
tombstones for removed exams and cursor pages."""

from __future__ import annotations

from backend.services.cadre_health import ledger
from backend.services.data_api import read
from tests.cadre_helpers import covered_exam
from tests.data_api_helpers import key_actor, settle
from tests.services.test_data_api_sync import before, sync


def test_the_dataset_lists_the_ledger_with_state_and_progress(svc, actors):
    exam = covered_exam(svc, actors, files=0)  # on no roster yet: an admin adds it
    row = ledger.add(svc, exam["accession"], by=actors["admin"])
    key = key_actor(svc, actors["admin"])
    [item] = read.read(svc, "cadre_uploads", {}, by=key).items
    assert (item["id"], item["exam_id"], item["accession"], item["state"]) == (
        row["id"], exam["exam_id"], exam["accession"], "pending")
    assert (item["files_total"], item["files_done"], item["attempts"]) == (0, 0, 0)
    assert item["patient_name"] != "王建国"  # masked without data.pii
    assert read.read(svc, "cadre_uploads", {"state": ["done"]}, by=key).items == []
    assert len(read.read(svc, "cadre_uploads", {"accession": [exam["accession"]]}, by=key).items) == 1


def test_the_sync_follows_the_ledger_and_reports_removed_exams(svc, actors, clock):
    key = key_actor(svc, actors["admin"])
    since = before(clock)
    first = covered_exam(svc, actors, files=0)
    second = covered_exam(svc, actors, files=0)
    rows = [ledger.add(svc, e["accession"], by=actors["admin"]) for e in (first, second)]
    settle(clock)
    items, tombs, nxt = sync(svc, key, "cadre_uploads", since, limit=1)  # two pages by cursor
    assert [i["id"] for i in items] == [r["id"] for r in rows]
    assert tombs == []
    assert sync(svc, key, "cadre_uploads", nxt)[:2] == ([], [])  # nothing changed since
    ledger.remove(svc, rows[0]["id"], by=actors["admin"])
    settle(clock)
    items, tombs, _ = sync(svc, key, "cadre_uploads", nxt)
    assert [i["id"] for i in items] == [rows[0]["id"]]
    assert [(t["id"], t["reason"]) for t in tombs] == [(rows[0]["id"], "cancelled")]
