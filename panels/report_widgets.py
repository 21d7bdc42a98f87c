"""Pieces shared by the report pages: the exam header, the status badge, version history, exam tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from backend.domain.report_flow import ReportStatus

STATUS_COLORS = {ReportStatus.NONE: "secondary", ReportStatus.DRAFT: "info", ReportStatus.SUBMITTED: "primary",
                 ReportStatus.RETURNED: "warning", ReportStatus.APPROVED: "success", ReportStatus.AMENDED: "info"}


def status_badge(view: Mapping[str, Any]) -> Any:
    return dbc.Badge(view["status_label"], color=STATUS_COLORS.get(view["status"], "secondary"), id="rep-status",
                     className="status-badge")


def exam_header(exam: Mapping[str, Any], sex: Mapping[str, str]) -> Any:
    """One line per fact a radiologist checks before writing: who, which exam, ordered by whom."""
    p = exam["patient"]
    facts = [("检查号", exam["accession"]), ("病案号", p["mrn"]), ("性别", sex.get(p["sex"], "")),
             ("出生日期", p["birth_date"] or ""), ("检查项目", exam["item_name"]),
             ("类别", exam["patient_class_label"]), ("检查状态", exam["status_label"]),
             ("申请科室", exam["ordering_department"]), ("登记时间", exam["created_local"])]
    return dbc.Card(dbc.CardBody([
        html.Div([html.Span(p["name"], className="fs-4 fw-semibold me-3", id="rep-patient"),
                  html.Span(exam["modality_label"], className="badge bg-dark me-2")]),
        html.Div([html.Span([html.Span(f"{k}：", className="text-muted"), v], className="me-4")
                  for k, v in facts if v], className="small"),
        html.Div(["临床信息：", exam["clinical_info"]], className="small") if exam.get("clinical_info") else None,
        # An emergency report's deadline and countdown (issue 15 item 3).
        dbc.Alert(f"急诊报告时限 {exam['due_local']} · {exam['countdown']}", id="rep-countdown",
                  color="danger" if (exam.get("minutes_left") or 0) < 0 else "warning", className="mt-2 mb-0 py-1")
        if exam.get("emergency") else None,
    ]), className="mb-3", id="rep-header")


def countdown_badge(item: Mapping[str, Any]) -> Any:
    """The worklist's deadline cell: a countdown for pinned emergency exams, nothing for the others."""
    if not item.get("emergency"):
        return ""
    return dbc.Badge(f"急 {item['countdown']}", color="danger" if (item.get("minutes_left") or 0) < 0 else "warning",
                     className="worklist-countdown")


def versions_table(versions: list[Mapping[str, Any]]) -> Any:
    if not versions:
        return html.Div("尚无版本", className="small text-muted", id="rep-versions")
    nowrap = {"whiteSpace": "nowrap"}
    rows = [html.Tr([html.Td(f"第 {v['number']} 版", style=nowrap), html.Td(v["author"], style=nowrap),
                     html.Td(v["saved_local"]),
                     html.Td(f"{v['approved_by']} {v['approved_local']}" if v["approved_by"] else "未审核"),
                     html.Td(v["amend_reason"])]) for v in reversed(versions)]
    head = html.Thead(html.Tr([html.Th(h) for h in ("版本", "报告医师", "保存时间", "审核", "修改原因")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", bordered=True, className="small", id="rep-versions")


def exam_table(items: list[Mapping[str, Any]], columns: list[tuple[str, Callable[[Mapping[str, Any]], Any]]],
               *, table_id: str, empty: str) -> Any:
    """A compact exam table whose accession links to the report editor."""
    if not items:
        return html.Div(empty, className="text-muted p-3", id=table_id)
    head = html.Thead(html.Tr([html.Th("检查号"), *[html.Th(title) for title, _ in columns]]))
    body = html.Tbody([html.Tr([html.Td(html.A(i["accession"], href=f"/panels/reports/{i['accession']}",
                                                className="rep-open")),
                                *[html.Td(fn(i)) for _, fn in columns]]) for i in items])
    return dbc.Table([head, body], hover=True, size="sm", className="table-exams bg-white", id=table_id)
