"""A staff search of the exam list is audited; an automatic re-read of the same page is not."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.db.models import AuditEntry
from backend.domain.exam_query import ExamFilter
from backend.services import exam_list
from backend.services.base import transaction
from tests.helpers import register


def _reads(svc) -> int:
    with transaction(svc, readonly=True) as tx:
        return tx.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.entity == "exam_list")) or 0


def test_search_is_audited_unless_it_is_a_refresh(svc, actors):
    register(svc, actors["clerk"], "DR-CHEST")
    before = _reads(svc)
    exam_list.search(svc, ExamFilter(), by=actors["doctor"])
    assert _reads(svc) == before + 1
    exam_list.search(svc, ExamFilter(), by=actors["doctor"], record_read=False)
    assert _reads(svc) == before + 1
