"""Reading reports: the editor's view of one exam's report, its versions, and the two worklists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from backend.db.models import (
    Campus,
    CriticalValue,
    Department,
    Exam,
    ExamItem,
    Report,
    ReportTemplate,
    ReportVersion,
    Room,
    User,
)
from backend.domain.actor import Actor
from backend.domain.enums import PatientClass, Priority, Role
from backend.domain.errors import NotFound
from backend.domain.exam_flow import NO_REPORT_EXPECTED, PERFORMED, performed
from backend.domain.permissions import Perm
from backend.domain.report_flow import (
    EDITABLE_REPORT,
    REPORT_DONE,
    REPORT_STATUS_LABELS,
    REPORT_TO_WRITE,
    ReportStatus,
)
from backend.domain.report_sections import initial_sections
from backend.domain.turnaround import (
    DEFAULT_READING_DEPARTMENT,
    READING_DEPARTMENT,
    TaskStage,
    countdown_text,
    minutes_left,
    needs_reminder,
    task_stage,
    worklist_key,
)
from backend.services.base import Services, Tx, transaction
from backend.services.orders.exam_list import exam_row

# Used when neither the exam item nor its modality names a template: the two free-text sections.
DEFAULT_SECTIONS: list[dict[str, Any]] = [
    {"key": "findings", "title": "检查所见", "kind": "text", "default": ""},
    {"key": "impression", "title": "诊断意见", "kind": "text", "default": ""},
]
DOCTOR_ROLES = frozenset({Role.RADIOLOGIST.value, Role.SENIOR_RADIOLOGIST.value, Role.DEPARTMENT_HEAD.value})


def is_typist_only(actor: Actor) -> bool:
    """A typist types for a radiologist but never signs: no submit, no authorship."""
    return Role.TYPIST.value in actor.roles and not (actor.roles & DOCTOR_ROLES)


def load_report(tx: Tx, exam_id: int, *, required: bool = False) -> Report | None:
    """The exam's report row, or None (NotFound when `required`)."""
    report = tx.session.scalars(select(Report).where(Report.exam_id == exam_id)).first()
    if report is None and required:
        raise NotFound("该检查还没有报告", code="report_not_found")
    return report


def current_version(tx: Tx, report: Report) -> ReportVersion:
    version = tx.session.scalars(select(ReportVersion).where(
        ReportVersion.report_id == report.id, ReportVersion.number == report.current_version)).one()
    return version


def versions_of(tx: Tx, report: Report) -> list[ReportVersion]:
    return list(tx.session.scalars(select(ReportVersion).where(ReportVersion.report_id == report.id)
                                   .order_by(ReportVersion.number)))


def template_for(tx: Tx, exam: Exam, code: str | None) -> ReportTemplate:
    """The report's template: its own code, else the exam item's, else the modality's, else the default."""
    item = tx.session.get(ExamItem, exam.exam_item_id)
    for c in (code, item.report_template_code if item else None, exam.modality_code):
        if c and (tpl := tx.session.scalars(select(ReportTemplate).where(ReportTemplate.code == c)).first()):
            return tpl
    return ReportTemplate(code="FREE", name="通用报告", kind="free", sections=DEFAULT_SECTIONS)


def user_names(tx: Tx, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = tx.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all()
    return {int(i): str(n) for i, n in rows}


def local(at: datetime | None, tx: Tx) -> str:
    return at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M") if at else ""


def _exam_query() -> Any:
    return select(Exam, ExamItem.code, ExamItem.name, Campus.name, Room.name).join(
        ExamItem, ExamItem.id == Exam.exam_item_id).join(Campus, Campus.id == Exam.campus_id).outerjoin(
        Room, Room.id == Exam.room_id)


def exam_summary(tx: Tx, exam_id: int) -> dict[str, Any]:
    row = tx.session.execute(_exam_query().where(Exam.id == exam_id)).first()
    if row is None:
        raise NotFound(f"检查不存在：{exam_id}", code="exam_not_found")
    return _deadline(exam_row(row[0], row[1], row[2], row[3], row[4], tx.tz), row[0], tx)


def _version_dict(v: ReportVersion, names: dict[int, str], tx: Tx) -> dict[str, Any]:
    return {"number": v.number, "sections": dict(v.sections), "author_id": v.author_id,
            "author": names.get(v.author_id or 0, ""), "typed_by": names.get(v.typed_by or 0, ""),
            "saved_at": v.saved_at.isoformat(), "saved_local": local(v.saved_at, tx),
            "approved_by": names.get(v.approved_by or 0, ""), "approver_id": v.approved_by,
            "approved_at": v.approved_at.isoformat() if v.approved_at else None,
            "approved_local": local(v.approved_at, tx), "amend_reason": v.amend_reason}


def _can(by: Actor, exam: Exam, report: Report | None, cur: ReportVersion | None, approved: bool) -> dict[str, bool]:
    status = ReportStatus(report.status) if report else ReportStatus.NONE
    writable = performed(exam.status)
    write = by.can(Perm.REPORT_WRITE)
    reviewer = by.can(Perm.REPORT_APPROVE) and cur is not None and by.id not in (cur.author_id, cur.typed_by)
    return {
        "save": write and ((status is ReportStatus.NONE and writable) or status in EDITABLE_REPORT),
        # A new report can be saved and submitted in one go (the editor saves first).
        "submit": write and not is_typist_only(by) and (
            (status is ReportStatus.NONE and writable)
            or (status in EDITABLE_REPORT and cur is not None and cur.author_id == by.id)),
        "approve": reviewer and status is ReportStatus.SUBMITTED,
        "return": reviewer and status is ReportStatus.SUBMITTED,
        "amend": write and status is ReportStatus.APPROVED,
        "print": by.can(Perm.REPORT_PRINT) and approved,
        "raise_critical": by.can(Perm.CRITICAL_MANAGE) and writable,
    }


def report_view(tx: Tx, exam: Exam, by: Actor) -> dict[str, Any]:
    """Everything the editor shows for one exam."""
    report = load_report(tx, exam.id)
    template = template_for(tx, exam, report.template_code if report else None)
    versions = versions_of(tx, report) if report else []
    cur = versions[-1] if versions else None
    names = user_names(tx, {x for v in versions for x in (v.author_id, v.typed_by, v.approved_by)})
    approved = any(v.approved_at for v in versions)
    status = ReportStatus(report.status) if report else ReportStatus.NONE
    criticals = tx.session.scalars(select(CriticalValue).where(CriticalValue.exam_id == exam.id)
                                   .order_by(CriticalValue.raised_at)).all()
    return {
        "exam": exam_summary(tx, exam.id),
        "report": None if report is None else {
            "id": report.id, "status": status.value, "status_label": REPORT_STATUS_LABELS[status],
            "lock": report.version_lock, "current_version": report.current_version,
            "return_reason": report.return_reason,
            "submitted_local": local(report.submitted_at, tx), "approved_local": local(report.approved_at, tx)},
        "status": status.value, "status_label": REPORT_STATUS_LABELS[status],
        "template": {"code": template.code, "name": template.name, "kind": template.kind,
                     "sections": list(template.sections)},
        "sections": dict(cur.sections) if cur else initial_sections(template.sections),
        "versions": [_version_dict(v, names, tx) for v in versions],
        "critical_values": [{"id": c.id, "finding": c.finding, "status": c.status,
                             "raised_local": local(c.raised_at, tx)} for c in criticals],
        "can": _can(by, exam, report, cur, approved),
    }


def find_exam_id(svc: Services, accession: str, *, by: Actor) -> int:
    """The exam id of an accession number (NotFound otherwise)."""
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        exam_id = tx.session.scalars(select(Exam.id).where(Exam.accession == accession.strip())).first()
    if exam_id is None:
        raise NotFound(f"检查不存在：{accession}", code="exam_not_found")
    return int(exam_id)


def _with_report(tx: Tx, rows: list[Any]) -> list[dict[str, Any]]:
    reports = {r.exam_id: r for r in tx.session.scalars(
        select(Report).where(Report.exam_id.in_([row[0].id for row in rows])))} if rows else {}
    names = user_names(tx, {r.author_id for r in reports.values()})
    out = []
    for row in rows:
        item = exam_row(row[0], row[1], row[2], row[3], row[4], tx.tz)
        r = reports.get(row[0].id)
        item["report_author"] = names.get(r.author_id or 0, "") if r else ""
        item["submitted_local"] = local(r.submitted_at, tx) if r else ""
        item["return_reason"] = r.return_reason if r else ""
        out.append(item)
    return out


def _deadline(item: dict[str, Any], exam: Exam, tx: Tx) -> dict[str, Any]:
    """Mark an emergency exam with its report deadline and a countdown (issue 15 item 3)."""
    urgent = needs_reminder(patient_class=exam.patient_class, priority=exam.priority)
    pinned = urgent and exam.report_due_at is not None
    left = minutes_left(exam.report_due_at, tx.now) if pinned and exam.report_due_at else None
    return item | {"emergency": pinned, "minutes_left": left,
                   "countdown": countdown_text(left) if left is not None else "",
                   "due_local": local(exam.report_due_at, tx) if pinned else ""}


def _my_department(tx: Tx, by: Actor) -> str | None:
    if by.department_id is None:
        return None
    dept = tx.session.get(Department, by.department_id)
    return dept.code if dept else None


def to_write(svc: Services, *, by: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Exams in progress or completed whose report is not yet submitted or approved: emergency exams with a
    deadline pinned on top (soonest first, with a countdown), then the rest by registration time. A doctor of
    an imaging department sees the modalities that department reads (ultrasound stays with 超声科)."""
    by.require(Perm.REPORT_WRITE)
    with transaction(svc, readonly=True) as tx:
        q = _exam_query().where(Exam.status.in_(PERFORMED), Exam.report_status.in_(REPORT_TO_WRITE))
        dept = _my_department(tx, by)
        if dept == "USD":
            q = q.where(Exam.modality_code.in_([m for m, d in READING_DEPARTMENT.items() if d == dept]))
        elif dept == DEFAULT_READING_DEPARTMENT:
            q = q.where(Exam.modality_code.not_in(list(READING_DEPARTMENT)))
        pinned = list(tx.session.execute(q.where(Exam.report_due_at.is_not(None), or_(
            Exam.patient_class == PatientClass.EMERGENCY, Exam.priority == Priority.STAT))
            .order_by(Exam.report_due_at, Exam.id).limit(min(limit, 500))).all())
        rest = list(tx.session.execute(q.order_by(Exam.created_at, Exam.id).limit(min(limit, 500))).all())
        seen = {r[0].id for r in pinned}
        rows = [*pinned, *[r for r in rest if r[0].id not in seen]]
        rows.sort(key=lambda r: worklist_key(
            urgent=needs_reminder(patient_class=r[0].patient_class, priority=r[0].priority),
            due_at=r[0].report_due_at, created_at=r[0].created_at, exam_id=r[0].id))
        rows = rows[:min(limit, 500)]
        by_id = {r[0].id: r[0] for r in rows}
        return [_deadline(i, by_id[i["id"]], tx) for i in _with_report(tx, rows)]


def overdue_board(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """The department head's board of emergency reports past their deadline and not yet approved, longest
    overdue first, with who holds each now (writer or review pool) (issue 15 item 3)."""
    by.require(Perm.REPORT_APPROVE)
    with transaction(svc, readonly=True) as tx:
        rows = list(tx.session.execute(_exam_query().where(
            Exam.report_due_at.is_not(None), Exam.report_due_at < tx.now,
            Exam.report_status.not_in(REPORT_DONE), Exam.status.not_in(NO_REPORT_EXPECTED),
            or_(Exam.patient_class == PatientClass.EMERGENCY, Exam.priority == Priority.STAT))
            .order_by(Exam.report_due_at, Exam.id).limit(500)).all())
        by_id = {r[0].id: r[0] for r in rows}
        out = []
        for i in _with_report(tx, rows):
            exam = by_id[i["id"]]
            stage = task_stage(exam.report_status)
            holder = i["report_author"] or "待认领" if stage is TaskStage.WRITE else "审核组"
            out.append(_deadline(i, exam, tx) | {"stage_label": "待审核" if stage is TaskStage.REVIEW else "待书写",
                                                 "holder": holder})
        return out


def to_review(svc: Services, *, by: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Submitted reports waiting for approval, longest waiting first."""
    by.require(Perm.REPORT_APPROVE)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.execute(_exam_query().join(Report, Report.exam_id == Exam.id).where(
            Exam.report_status == ReportStatus.SUBMITTED.value).order_by(Report.submitted_at, Exam.id)
            .limit(min(limit, 500))).all()
        return _with_report(tx, list(rows))
