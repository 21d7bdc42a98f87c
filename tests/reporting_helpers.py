"""Builders for reporting tests: exams that have reached a given procedure status, and reports."""

from __future__ import annotations

from typing import Any

from backend.domain.actor import Actor
from backend.domain.exam_flow import Trigger
from backend.services import timeline
from backend.services.base import Services
from backend.services.reporting import reports as reporting
from tests.helpers import register

FINDINGS = "右肺上叶见一实性结节，大小约8mm×6mm，边界清楚。"
IMPRESSION = "右肺上叶实性结节，建议3个月后复查。"
STEPS = {"registered": [], "arrived": [Trigger.CHECK_IN], "in_progress": [Trigger.CHECK_IN, Trigger.START],
         "completed": [Trigger.CHECK_IN, Trigger.START, Trigger.COMPLETE]}


def exam_at(svc: Services, actors: dict[str, Actor], status: str = "completed", *, item: str = "DR-CHEST",
            **kw: Any) -> dict[str, Any]:
    """Register an exam and move it to `status` through the timeline."""
    exam = register(svc, actors["clerk"], item, **kw)
    for trigger in STEPS[status]:
        timeline.apply(svc, exam["exam_id"], trigger, by=actors["tech"])
    return exam


def submitted(svc: Services, actors: dict[str, Actor], author: str = "doctor", **kw: Any) -> dict[str, Any]:
    """A completed exam with a full report submitted by `author`."""
    exam = exam_at(svc, actors, **kw)
    r = reporting.save_draft(svc, exam["exam_id"], sections={"findings": FINDINGS, "impression": IMPRESSION},
                             by=actors[author])
    reporting.submit(svc, exam["exam_id"], by=actors[author], expected_lock=r["report"]["lock"])
    return exam


def approved(svc: Services, actors: dict[str, Actor], **kw: Any) -> dict[str, Any]:
    exam = submitted(svc, actors, **kw)
    reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    return exam
