"""Rendering helpers of the exam list: status badges, the table, and the filter choices."""

from __future__ import annotations

from datetime import date
from typing import Any

from dash import html

from backend.domain.enums import MODALITY_LABELS, PATIENT_CLASS_LABELS, SEX_LABELS, Sex
from backend.domain.exam_flow import EXAM_STATUS_LABELS, ExamStatus
from backend.domain.report_flow import REPORT_STATUS_LABELS, ReportStatus

S, R = ExamStatus, ReportStatus
STATUS_COLORS = {
    S.ORDERED: "secondary", S.SCHEDULED: "info", S.REGISTERED: "primary", S.ARRIVED: "warning",
    S.IN_PROGRESS: "orange", S.COMPLETED: "success", S.DISCONTINUED: "dark", S.CANCELLED: "light",
}
REPORT_COLORS = {
    R.NONE: "light", R.DRAFT: "secondary", R.SUBMITTED: "info", R.RETURNED: "danger",
    R.APPROVED: "success", R.AMENDED: "warning",
}
del S, R
PRIORITY_COLORS = {"routine": "", "urgent": "warning", "stat": "danger"}
SORT_OPTIONS = [
    {"label": "登记时间（新→旧）", "value": "created_desc"},
    {"label": "登记时间（旧→新）", "value": "created_asc"},
    {"label": "检查号（升序）", "value": "accession_asc"},
    {"label": "检查号（降序）", "value": "accession_desc"},
]
COLUMNS = ["检查号", "姓名", "病案号", "性别/年龄", "类别", "优先级", "设备", "检查项目", "检查状态", "报告状态",
           "预约时段", "登记时间", "院区/检查室", "申请科室"]


def options(labels: dict[Any, str]) -> list[dict[str, str]]:
    return [{"label": label, "value": str(value)} for value, label in labels.items()]


STATUS_OPTIONS = options(dict(EXAM_STATUS_LABELS))
REPORT_OPTIONS = options(dict(REPORT_STATUS_LABELS))
CLASS_OPTIONS = options(dict(PATIENT_CLASS_LABELS))
MODALITY_OPTIONS = options(MODALITY_LABELS)


def badge(text: str, color: str, *, extra: str = "") -> Any:
    if color == "orange":
        return html.Span(text, className=f"badge status-badge badge-orange {extra}")
    text_cls = " text-dark border" if color in {"light", "warning", "info"} else ""
    return html.Span(text, className=f"badge status-badge bg-{color}{text_cls} {extra}".strip())


def age_of(birth: str | None, today: date) -> str:
    if not birth:
        return ""
    b = date.fromisoformat(birth)
    years = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
    return f"{years}岁"


def _recon_badge(recon: dict[str, Any] | None) -> Any:
    """The reconstruction's state beside the exam status (LN-7): 重建超时 and 失败 stand out."""
    if not recon:
        return None
    color = {"timed_out": "danger", "failed": "danger", "completed": "success"}.get(recon["state"], "info")
    return badge(recon["label"], color, extra="ms-1 recon-state")


def _cells(r: dict[str, Any], today: date) -> list[Any]:
    p = r["patient"]
    sex = SEX_LABELS.get(Sex(p["sex"]), "") if p.get("sex") in {s.value for s in Sex} else ""
    pri = PRIORITY_COLORS.get(r["priority"], "")
    return [
        html.Span(r["accession"], className="fw-semibold font-monospace"),
        p["name"], html.Span(p["mrn"], className="font-monospace"), f"{sex} {age_of(p.get('birth_date'), today)}",
        r["patient_class_label"],
        badge(r["priority_label"], pri) if pri else r["priority_label"],
        r["modality_label"], r["item_name"],
        html.Span([badge(r["status_label"], STATUS_COLORS.get(r["status"], "secondary")),
                   _recon_badge(r.get("recon"))]),
        badge(r["report_status_label"], REPORT_COLORS.get(r["report_status"], "light")),
        r["scheduled_local"] or "—", r["created_local"],
        " / ".join(x for x in (r["campus"], r.get("room") or "") if x),
        r.get("ordering_department") or "",
    ]


def _tr(r: dict[str, Any], today: date, flash: int | None) -> Any:
    classes = ["exam-row", "row-cancelled" if r["status"] == ExamStatus.CANCELLED else "",
               "row-flash" if flash == r["id"] else ""]
    attrs: dict[str, Any] = {"data-exam-id": str(r["id"])}  # read by assets/exam_list_menu.js
    return html.Tr([html.Td(c) for c in _cells(r, today)], className=" ".join(filter(None, classes)), **attrs)


def table(rows: list[dict[str, Any]], today: date, *, flash: int | None = None) -> Any:
    """The exam table; every row carries data-exam-id for the right-click menu."""
    if not rows:
        return html.Div([html.Div("没有符合条件的检查", className="fs-5"),
                         html.Div("请调整日期范围或筛选条件；新登记的检查会自动出现在这里。", className="small")],
                        className="text-center text-muted py-5 bg-white border rounded", id="exams-empty")
    head = html.Thead(html.Tr([html.Th(c) for c in COLUMNS]))
    body = html.Tbody([_tr(r, today, flash) for r in rows])
    return html.Div(html.Table([head, body], className="table table-sm table-hover table-exams mb-0",
                               id="exams-table"), className="table-responsive bg-white border rounded")
