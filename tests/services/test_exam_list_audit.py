"""Reads are audited: a staff search of the exam list is, an automatic re-read is not; read rows are queued
and written in batches (backend/services/audit.py), every audit search writes the queue first."""

from __future__ import annotations

from sqlalchemy import func, select, text

from backend.db.models import AuditEntry
from backend.domain.exam_query import ExamFilter
from backend.services import audit
from backend.services.admin import system as admin_system
from backend.services.base import transaction
from backend.services.orders import exam_list
from tests.helpers import register


def _reads(svc, entity: str = "exam_list") -> int:
    with transaction(svc, readonly=True) as tx:
        return tx.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.entity == entity)) or 0


def test_search_is_audited_unless_it_is_a_refresh(svc, actors):
    register(svc, actors["clerk"], "DR-CHEST")
    audit.flush_reads(svc)
    before = _reads(svc)
    exam_list.search(svc, ExamFilter(), by=actors["doctor"])
    exam_list.search(svc, ExamFilter(), by=actors["doctor"], record_read=False)
    assert audit.flush_reads(svc) == 1
    assert _reads(svc) == before + 1


def test_read_rows_wait_for_a_batch_keep_their_time_and_reach_the_audit_search(svc, actors, clock):
    exam = register(svc, actors["clerk"], "DR-CHEST")
    audit.flush_reads(svc)
    before = _reads(svc, "exam")
    read_at = clock()
    exam_list.get_exam(svc, by=actors["doctor"], exam_id=exam["exam_id"])
    assert _reads(svc, "exam") == before  # queued, not yet written
    clock.advance(minutes=5)
    rows = admin_system.search_audit(svc, by=actors["admin"], entity="exam", entity_id=str(exam["exam_id"]))
    assert [(r["action"], r["actor"]) for r in rows][:1] == [("read", actors["doctor"].label)]
    assert _reads(svc, "exam") == before + 1
    assert rows[0]["at"].startswith(read_at.isoformat()[:16])  # the time of the read, not of the write


def test_a_full_batch_is_written_by_the_read_that_fills_it(svc, actors):
    register(svc, actors["clerk"], "DR-CHEST")
    audit.flush_reads(svc)
    before = _reads(svc)
    for _ in range(audit.READ_BATCH):
        exam_list.search(svc, ExamFilter(), by=actors["doctor"])
    assert _reads(svc) == before + audit.READ_BATCH
    assert audit.flush_reads(svc) == 0


def _rename(svc, old: str, new: str) -> None:
    with transaction(svc) as tx:
        tx.session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_rows_the_database_refuses_are_kept_for_the_next_flush(svc, actors):
    register(svc, actors["clerk"], "DR-CHEST")
    audit.flush_reads(svc)
    before = _reads(svc)
    exam_list.search(svc, ExamFilter(), by=actors["doctor"])
    exam_list.search(svc, ExamFilter(), by=actors["nurse"])
    _rename(svc, "audit_log", "audit_log_away")  # the database refuses the batch: no such table
    try:
        assert audit.flush_reads(svc) == 0
    finally:
        _rename(svc, "audit_log_away", "audit_log")
    assert _reads(svc) == before
    assert audit.flush_reads(svc) == 2
    assert _reads(svc) == before + 2
