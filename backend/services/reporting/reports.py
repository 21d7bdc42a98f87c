"""Writing and reviewing reports: draft, submit, approve (审核), return (退回), amend.

Every status change goes through `report_flow.next_report_status`, mirrors into `Exam.report_status`
and appends one timeline row (report_drafted / _submitted / _returned / _approved / _amended).
Saves are optimistic: the caller sends the `lock` it loaded; a stale one is refused (`stale_report`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from backend.db.models import CriticalValue, Exam, Report, ReportVersion, User
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.critical_flow import CriticalStatus
from backend.domain.errors import Conflict, Forbidden, InvalidInput
from backend.domain.exam_flow import EXAM_STATUS_LABELS, PERFORMED, ExamStatus
from backend.domain.permissions import Perm
from backend.domain.report_flow import ReportStatus, ReportTrigger, next_report_status
from backend.domain.report_sections import clean_sections, missing_required
from backend.services import audit, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.cadre_health import ledger as cadre_ledger
from backend.services.reporting import hc_results, structured_sr
from backend.services.reporting.queries import (
    DOCTOR_ROLES,
    current_version,
    is_typist_only,
    load_report,
    report_view,
    template_for,
)

logger = logging.getLogger(__name__)

# Reports may be written once the patient is on the table (检查中) or done (检查完成).
WRITABLE_EXAM = PERFORMED
STALE_MESSAGE = "报告已被他人修改，请刷新后再保存（您的修改尚未保存）"


@contextmanager
def _stale_guard() -> Iterator[None]:
    """Turn a lost optimistic-lock race at commit into the same Conflict as a stale `lock`."""
    try:
        yield
    except StaleDataError:
        raise Conflict(STALE_MESSAGE, code="stale_report") from None


def _check_lock(report: Report, expected_lock: int | None, *, required: bool) -> None:
    if expected_lock is None and not required:
        return
    if expected_lock != report.version_lock:
        raise Conflict(STALE_MESSAGE, code="stale_report", current_lock=report.version_lock)


def _move(tx: Tx, exam: Exam, report: Report, trigger: ReportTrigger) -> ReportStatus:
    """Apply a report trigger (or raise InvalidTransition before anything changed)."""
    after = next_report_status(ReportStatus(report.status), trigger)
    report.status = after.value
    exam.report_status = after.value
    exam.updated_at = tx.now
    flag_modified(report, "status")  # always bump version_lock, even when the status stays the same
    return after


def _resolve_author(tx: Tx, by: Actor, author_id: int | None) -> int | None:
    """Typists type for a radiologist (author_id required); everyone else writes as themselves."""
    if not is_typist_only(by):
        if author_id not in (None, by.id):
            raise Forbidden("只有打字员可以代其他医师录入报告", code="not_typist")
        return by.id
    if author_id is None:
        raise InvalidInput("打字员录入报告时须指定报告医师", code="author_required")
    user = tx.session.get(User, author_id)
    roles = set(user.role_names) if user and user.active else set()
    if not roles & DOCTOR_ROLES:
        raise InvalidInput("指定的报告医师无效", code="invalid_author")
    return author_id


def _require_writable_exam(exam: Exam) -> None:
    status = ExamStatus(exam.status)
    if status not in WRITABLE_EXAM:
        raise Conflict(f"检查当前为“{EXAM_STATUS_LABELS[status]}”，检查开始（检查中）或完成后才能书写报告",
                       code="exam_not_started", exam_status=status.value)


def save_draft(svc: Services, exam_id: int, *, sections: Mapping[str, Any], by: Actor,
               expected_lock: int | None = None, author_id: int | None = None) -> dict[str, Any]:
    """Save the report text; the first save creates the report from the exam item's template."""
    by.require(Perm.REPORT_WRITE)
    with _stale_guard(), transaction(svc) as tx:
        exam = timeline.load_exam(tx, exam_id)
        report = load_report(tx, exam.id)
        author = _resolve_author(tx, by, author_id)
        typist = by.id if is_typist_only(by) else None
        if report is None:
            _require_writable_exam(exam)
            _create(tx, exam, sections, author=author, typist=typist, by=by)
        else:
            _check_lock(report, expected_lock, required=True)
            version = current_version(tx, report)
            was_returned = report.status == ReportStatus.RETURNED.value
            _move(tx, exam, report, ReportTrigger.WRITE)
            if was_returned:  # back to writing after a return is a transition of its own on the timeline
                timeline.append(tx, exam, TimelineKind.REPORT_DRAFTED, by, version=version.number, after_return=True)
            template = template_for(tx, exam, report.template_code)
            version.sections = clean_sections(template.sections, sections, previous=version.sections)
            version.saved_at, version.author_id, version.typed_by = tx.now, author, typist
            report.author_id = author
        audit.record(tx, by, "save", "report", exam.id)
    return get(svc, exam_id, by=by)


def _create(tx: Tx, exam: Exam, sections: Mapping[str, Any], *, author: int | None, typist: int | None,
            by: Actor) -> None:
    template = template_for(tx, exam, None)
    report = Report(exam_id=exam.id, status=ReportStatus.NONE.value, template_code=template.code,
                    author_id=author, current_version=1, return_reason="", created_at=tx.now)
    tx.session.add(report)
    _move(tx, exam, report, ReportTrigger.WRITE)
    tx.session.flush()
    tx.session.add(ReportVersion(report_id=report.id, number=1, author_id=author, typed_by=typist,
                                 saved_at=tx.now, amend_reason="",
                                 sections=clean_sections(template.sections, sections)))
    timeline.append(tx, exam, TimelineKind.REPORT_DRAFTED, by, version=1, author_id=author)
    logger.info("report drafted for exam %s", exam.id)


def submit(svc: Services, exam_id: int, *, by: Actor, expected_lock: int | None = None) -> dict[str, Any]:
    """Send the report for review: only its author, and only with every required section filled."""
    by.require(Perm.REPORT_WRITE)
    with _stale_guard(), transaction(svc) as tx:
        exam, report, version = _load(tx, exam_id, expected_lock)
        if version.author_id != by.id:
            raise Forbidden("报告须由报告医师本人提交", code="not_author")
        missing = missing_required(template_for(tx, exam, report.template_code).sections, version.sections)
        next_report_status(ReportStatus(report.status), ReportTrigger.SUBMIT)
        if missing:
            raise InvalidInput(f"请先填写：{'、'.join(missing)}", code="report_incomplete", missing=missing)
        _move(tx, exam, report, ReportTrigger.SUBMIT)
        report.submitted_at, report.return_reason = tx.now, ""
        timeline.append(tx, exam, TimelineKind.REPORT_SUBMITTED, by, version=version.number)
        audit.record(tx, by, "submit", "report", exam.id, version=version.number)
    return get(svc, exam_id, by=by)


def _load(tx: Tx, exam_id: int, expected_lock: int | None) -> tuple[Exam, Report, ReportVersion]:
    exam = timeline.load_exam(tx, exam_id)
    report = load_report(tx, exam.id, required=True)
    assert report is not None
    _check_lock(report, expected_lock, required=False)
    return exam, report, current_version(tx, report)


def _refuse_self_review(version: ReportVersion, by: Actor, action: str) -> None:
    # The approver must never be the author of the version under review (standards.md 1.5 guard).
    if by.id is not None and by.id in (version.author_id, version.typed_by):
        raise Forbidden(f"不能{action}自己书写的报告，请由其他审核医师{action}", code="self_approval")


def _refuse_open_critical(tx: Tx, exam: Exam) -> None:
    pending = tx.session.scalars(select(CriticalValue.id).where(
        CriticalValue.exam_id == exam.id, CriticalValue.status == CriticalStatus.RAISED)).first()
    if pending is not None:
        raise Conflict("该检查有尚未通知临床的危急值，请先登记危急值通知后再审核报告",
                       code="critical_not_notified", critical_id=pending)


def approve(svc: Services, exam_id: int, *, by: Actor, expected_lock: int | None = None) -> dict[str, Any]:
    """Approve (审核) the submitted version: never by its author, never with an un-notified critical value."""
    by.require(Perm.REPORT_APPROVE)
    with _stale_guard(), transaction(svc) as tx:
        exam, report, version = _load(tx, exam_id, expected_lock)
        _refuse_self_review(version, by, "审核")
        next_report_status(ReportStatus(report.status), ReportTrigger.APPROVE)
        _refuse_open_critical(tx, exam)
        _move(tx, exam, report, ReportTrigger.APPROVE)
        version.approved_by, version.approved_at = by.id, tx.now
        report.approver_id, report.approved_at = by.id, tx.now
        timeline.append(tx, exam, TimelineKind.REPORT_APPROVED, by, version=version.number, author_id=version.author_id)
        audit.record(tx, by, "approve", "report", exam.id, version=version.number)
        hc_results.queue_result(tx, exam, version)  # health-check exams: the result back to the center (issue 14.13)
        cadre_ledger.queue_report(tx, exam, version)  # covered patients: images and report to the system (CD-1)
    logger.info("report approved for exam %s (version %s)", exam_id, version.number)
    structured_sr.write_after_approval(svc, exam_id, version.number)  # the lung-nodule SR; never undoes this
    return get(svc, exam_id, by=by)


def return_report(svc: Services, exam_id: int, *, reason: str, by: Actor,
                  expected_lock: int | None = None) -> dict[str, Any]:
    """Return (退回) a submitted report to its author with a required reason."""
    by.require(Perm.REPORT_APPROVE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("退回报告必须填写退回原因", code="reason_required")
    with _stale_guard(), transaction(svc) as tx:
        exam, report, version = _load(tx, exam_id, expected_lock)
        _refuse_self_review(version, by, "退回")
        _move(tx, exam, report, ReportTrigger.RETURN)
        report.return_reason = reason[:2000]
        timeline.append(tx, exam, TimelineKind.REPORT_RETURNED, by, version=version.number, reason=reason[:500])
        audit.record(tx, by, "return", "report", exam.id, version=version.number)
    return get(svc, exam_id, by=by)


def amend(svc: Services, exam_id: int, *, reason: str, by: Actor, expected_lock: int | None = None,
          author_id: int | None = None) -> dict[str, Any]:
    """Open a new version of an approved report; the approved version is kept unchanged."""
    by.require(Perm.REPORT_WRITE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("修改已审核报告必须填写修改原因", code="reason_required")
    with _stale_guard(), transaction(svc) as tx:
        exam, report, approved = _load(tx, exam_id, expected_lock)
        author = _resolve_author(tx, by, author_id)
        _move(tx, exam, report, ReportTrigger.AMEND)
        number = approved.number + 1
        tx.session.add(ReportVersion(report_id=report.id, number=number, author_id=author,
                                     typed_by=by.id if is_typist_only(by) else None, saved_at=tx.now,
                                     sections=dict(approved.sections), amend_reason=reason[:2000]))
        report.current_version, report.author_id, report.submitted_at = number, author, None
        timeline.append(tx, exam, TimelineKind.REPORT_AMENDED, by, version=number, previous=approved.number,
                        reason=reason[:500])
        audit.record(tx, by, "amend", "report", exam.id, version=number)
    return get(svc, exam_id, by=by)


def get(svc: Services, exam_id: int, *, by: Actor) -> dict[str, Any]:
    """The exam's report (or the template to start one), its versions and what `by` may do now."""
    by.require(Perm.EXAM_READ)
    with transaction(svc) as tx:
        exam = timeline.load_exam(tx, exam_id, lock=False)
        audit.record(tx, by, "read", "report", exam.id)
        return report_view(tx, exam, by)
