"""Report editor (报告编辑): the exam header, the template's sections, save / submit / approve / return /
amend, version history, print, and raising a critical value (危急值)."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html

from backend.domain.actor import Actor
from backend.domain.critical_flow import CRITICAL_STATUS_LABELS, CriticalStatus, awaiting_notice
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.domain.report_flow import ReportStatus
from backend.services.reporting import critical_values, queries
from backend.services.reporting import reports as reporting
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels import lung_nodule_form
from panels.report_widgets import exam_header, status_badge, versions_table
from panels.shell import EXPIRED, staff_page

ACCESS = staff(Perm.REPORT_WRITE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/reports/<accession>"
ACTIONS = ["rep-save", "rep-submit", "rep-approve", "rep-return", "rep-amend", "rep-critical"]
SEX = {"M": "男", "F": "女", "O": "其他", "U": "未知"}


def _button(i: str, label: str, color: str, shown: bool, **kw: Any) -> Any:
    return dbc.Button(label, id=i, color=color, n_clicks=0, className="me-2 mb-2" + ("" if shown else " d-none"),
                      **kw)


def _sections(view: dict[str, Any]) -> Any:
    editable = view["can"]["save"]
    rows = []
    for s in view["template"]["sections"]:
        if s.get("kind") == lung_nodule_form.section.KIND:  # the structured lung-nodule section (LN-9)
            rows.append(html.Div([
                dbc.Label(s.get("title", s["key"]), className="fw-semibold mb-1"),
                lung_nodule_form.form(s["key"], view["sections"].get(s["key"]), editable,
                                      lung_nodule_form.default_system(), view["exam"].get("accession", "")),
            ], className="mb-3"))
            continue
        rows.append(html.Div([
            dbc.Label(s.get("title", s["key"]), className="fw-semibold mb-1", html_for=f"rep-sec-{s['key']}"),
            dcc.Textarea(id={"type": "rep-section", "key": s["key"]}, value=view["sections"].get(s["key"]) or "",
                         disabled=not editable, className="form-control report-text",
                         style={"minHeight": "180px" if s["key"] == "findings" else "110px"}),
        ], className="mb-3"))
    return html.Div(rows, id="rep-sections")


def _actions(view: dict[str, Any]) -> Any:
    can, exam_id = view["can"], view["exam"]["id"]
    return html.Div([
        html.Div([
            _button("rep-save", "保存草稿", "secondary", can["save"]),
            _button("rep-submit", "提交审核", "primary", can["submit"]),
            _button("rep-approve", "审核通过", "success", can["approve"]),
            html.A("打印报告", id="rep-print", href=f"/api/exams/{exam_id}/report.pdf", target="_blank",
                   className="btn btn-outline-dark me-2 mb-2" + ("" if can["print"] else " d-none")),
        ]),
        dbc.InputGroup([dbc.Input(id="rep-return-reason", placeholder="退回原因（必填）", maxLength=500),
                        dbc.Button("退回", id="rep-return", color="warning", n_clicks=0)],
                       className="mb-2" + ("" if can["return"] else " d-none"), id="rep-return-group"),
        dbc.InputGroup([dbc.Input(id="rep-amend-reason", placeholder="修改原因（必填）", maxLength=500),
                        dbc.Button("修改报告（生成新版本）", id="rep-amend", color="info", n_clicks=0)],
                       className="mb-2" + ("" if can["amend"] else " d-none"), id="rep-amend-group"),
    ])


def _critical(view: dict[str, Any]) -> Any:
    items = [html.Li([f"{c['raised_local']} {c['finding']}（{CRITICAL_STATUS_LABELS[CriticalStatus(c['status'])]}）",
                      html.A("登记通知", href=f"/panels/critical?id={c['id']}", className="ms-2")
                      if awaiting_notice(c["status"]) else None]) for c in view["critical_values"]]
    return dbc.Card(dbc.CardBody([
        html.H6("危急值", className="text-danger"),
        html.Ul(items, className="small mb-2", id="rep-critical-list") if items else html.Div(
            "本检查暂无危急值", className="small text-muted mb-2"),
        html.Div([
            dbc.Textarea(id="rep-critical-finding", placeholder="危急值内容，如：急性颅内出血", rows=2,
                         className="mb-2"),
            dbc.Select(id="rep-critical-urgency", value="high", className="mb-2",
                       options=[{"label": "危急", "value": "high"}, {"label": "特急（立即处理）", "value": "urgent"}]),
            dbc.Button("上报危急值", id="rep-critical", color="danger", n_clicks=0, size="sm"),
            html.A("危急值登记", href="/panels/critical", className="btn btn-link btn-sm"),
        ], className="" if view["can"]["raise_critical"] else "d-none"),
    ]), className="mb-3")


def _main(view: dict[str, Any]) -> Any:
    report = view["report"] or {}
    notice = []
    if view["status"] == ReportStatus.RETURNED:
        notice.append(dbc.Alert(f"报告已被退回：{report.get('return_reason', '')}", color="warning", id="rep-returned"))
    if view["status"] == ReportStatus.SUBMITTED and not view["can"]["approve"]:
        notice.append(dbc.Alert("报告已提交，等待其他审核医师审核。", color="info", id="rep-waiting"))
    if not view["can"]["save"] and view["status"] == ReportStatus.NONE:
        notice.append(dbc.Alert("检查尚未开始，检查开始或完成后才能书写报告。", color="secondary"))
    return dbc.Row([
        dbc.Col([*notice, _sections(view), _actions(view)], lg=8),
        dbc.Col([
            html.Div(["报告状态：", status_badge(view)], className="mb-2"),
            html.Div(f"模板：{view['template']['name']}", className="small text-muted mb-3"),
            _critical(view),
            html.H6("版本历史"), versions_table(view["versions"]),
        ], lg=4),
    ])


def _body(actor: Actor, accession: str) -> Any:
    try:
        exam_id = queries.find_exam_id(services(), accession, by=actor)
        view = reporting.get(services(), exam_id, by=actor)
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="rep-error")
    return html.Div([
        exam_header(view["exam"], SEX),
        html.Div(id="rep-msg"),
        html.Div(_main(view), id="rep-main"),
        dcc.Store(id="rep-state", data={"exam_id": exam_id, "lock": (view["report"] or {}).get("lock")}),
    ])


def layout(accession: str | None = None, **_query: Any) -> Any:
    return staff_page(Perm.REPORT_WRITE, "/panels/worklist", lambda actor: _body(actor, accession or ""))


class SavedButRefused(Exception):
    """The text was saved but the submit was refused: show the saved view and the reason."""

    def __init__(self, view: dict[str, Any], message: str) -> None:
        super().__init__(message)
        self.view, self.message = view, message


def _save_and_submit(actor: Actor, exam_id: int, lock: int | None, sections: dict[str, Any]) -> dict[str, Any]:
    svc = services()
    saved = None
    if reporting.get(svc, exam_id, by=actor)["can"]["save"]:
        saved = reporting.save_draft(svc, exam_id, sections=sections, by=actor, expected_lock=lock)
        lock = saved["report"]["lock"]
    try:
        return reporting.submit(svc, exam_id, by=actor, expected_lock=lock)
    except DomainError as exc:
        if saved is None:
            raise
        raise SavedButRefused(saved, f"草稿已保存，但未能提交：{exc.message}") from exc


def _run(trigger: str, actor: Actor, exam_id: int, lock: int | None, sections: dict[str, Any],
         fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
    svc = services()
    if trigger == "rep-save":
        return reporting.save_draft(svc, exam_id, sections=sections, by=actor, expected_lock=lock), "草稿已保存"
    if trigger == "rep-submit":
        return _save_and_submit(actor, exam_id, lock, sections), "报告已提交审核"
    if trigger == "rep-approve":
        return reporting.approve(svc, exam_id, by=actor, expected_lock=lock), "报告已审核通过，可以打印"
    if trigger == "rep-return":
        view = reporting.return_report(svc, exam_id, reason=fields["return"] or "", by=actor, expected_lock=lock)
        return view, "报告已退回给报告医师"
    if trigger == "rep-amend":
        view = reporting.amend(svc, exam_id, reason=fields["amend"] or "", by=actor, expected_lock=lock)
        return view, f"已生成第 {view['report']['current_version']} 版，请修改后重新提交审核（原审核版本保持不变）"
    cv = critical_values.raise_value(svc, exam_id, finding=fields["finding"] or "", urgency=fields["urgency"] or "high",
                                     by=actor)
    return reporting.get(svc, exam_id, by=actor), f"危急值已上报，请在 {cv['limit_min']} 分钟内通知临床并登记"


def _act(*args: Any) -> tuple[Any, Any, Any]:
    """Run the clicked action and redraw the editor with a Chinese message."""
    values, ids, state, ret, amend, finding, urgency, struct_data, struct_ids = args[len(ACTIONS):]
    actor = page_actor()
    trigger = ctx.triggered_id
    if trigger not in ACTIONS or not ctx.triggered[0]["value"]:
        return dash.no_update, dash.no_update, dash.no_update
    if actor is None:
        return dbc.Alert(EXPIRED, color="warning", id="rep-flash"), dash.no_update, dash.no_update
    sections: dict[str, Any] = {i["key"]: v or "" for i, v in zip(ids, values, strict=True)}
    sections.update({i["key"]: v for i, v in zip(struct_ids, struct_data, strict=True) if v is not None})
    fields = {"return": ret, "amend": amend, "finding": finding, "urgency": urgency}
    try:
        view, message = _run(str(trigger), actor, state["exam_id"], state.get("lock"), sections, fields)
        alert = dbc.Alert(message, color="success", id="rep-flash", duration=8000)
    except SavedButRefused as exc:
        view, alert = exc.view, dbc.Alert(exc.message, color="danger", id="rep-flash")
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="rep-flash"), dash.no_update, dash.no_update
    return alert, _main(view), {**state, "lock": (view["report"] or {}).get("lock")}


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path_template=PATH, title="报告编辑 - RadOps", name="报告编辑", layout=layout)
    app.callback(Output("rep-msg", "children"), Output("rep-main", "children"), Output("rep-state", "data"),
                   *[Input(i, "n_clicks") for i in ACTIONS],
                   State({"type": "rep-section", "key": ALL}, "value"), State({"type": "rep-section", "key": ALL},
                   "id"),
                   State("rep-state", "data"), State("rep-return-reason", "value"), State("rep-amend-reason", "value"),
                   State("rep-critical-finding", "value"), State("rep-critical-urgency", "value"),
                   State({"type": "rep-struct", "key": ALL}, "data"), State({"type": "rep-struct", "key": ALL}, "id"),
                   prevent_initial_call=True)(_act)
    lung_nodule_form.register_callbacks(app)
