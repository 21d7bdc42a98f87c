"""The exam list's right-click menu and its built-in dialogs: 查看详情 and 取消检查."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html

from backend.domain.dispatch import PLACEMENT_REASONS
from backend.domain.errors import DomainError
from backend.services.orders import exam_detail, registration
from backend.web.context import page_actor, services
from panels.exam_menu import MENU_COMPONENTS, actions_for, find
from panels.exam_table import REPORT_COLORS, STATUS_COLORS, badge
from panels.shell import EXPIRED

HIDDEN = {"display": "none"}
MENU_WIDTH, ITEM_HEIGHT = 200, 36


def components() -> Any:
    """The menu, its stores and dialogs (plus those other modules registered in MENU_COMPONENTS)."""
    return html.Div([
        html.Div(id="exams-menu", className="context-menu dropdown-menu show shadow", style=HIDDEN),
        dcc.Store(id="exams-menu-target"), dcc.Store(id="exams-menu-invoked"), dcc.Store(id="exams-cancel-id"),
        dbc.Modal([dbc.ModalHeader(dbc.ModalTitle("检查详情")), dbc.ModalBody(id="exams-detail-body")],
                  id="exams-detail", size="lg", scrollable=True, is_open=False),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("取消检查")),
            dbc.ModalBody([
                html.Div(id="exams-cancel-info", className="mb-2"),
                dbc.Label("取消原因（必填）", html_for="exams-cancel-reason"),
                dbc.Textarea(id="exams-cancel-reason", maxLength=500, rows=3,
                             placeholder="例如：患者要求取消 / 临床医生撤销申请"),
                dbc.Alert(id="exams-cancel-error", color="danger", is_open=False, className="mt-2 mb-0 py-2"),
            ]),
            dbc.ModalFooter([
                dbc.Button("返回", id="exams-cancel-back", color="secondary", outline=True),
                dbc.Button("确认取消检查", id="exams-cancel-confirm", color="danger"),
            ]),
        ], id="exams-cancel", is_open=False),
        *[make() for make in MENU_COMPONENTS],
    ])


def _row(rows: list[dict[str, Any]] | None, exam_id: Any) -> dict[str, Any] | None:
    return next((r for r in rows or [] if r["id"] == exam_id), None)


def _open_menu(target: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> tuple[Any, Any]:
    """Show the actions the signed-in user may use on the right-clicked row, at the pointer."""
    actor = page_actor()
    row = _row(rows, (target or {}).get("id"))
    if actor is None or row is None or target is None:
        return [], HIDDEN
    items: list[Any] = [html.H6(f"{row['accession']} · {row['patient']['name']}", className="dropdown-header")]
    for action in actions_for(actor, row):
        cls = "dropdown-item" + (" text-danger" if action.danger else "")
        href = action.href(row)
        items.append(html.A(action.label, href=href, className=cls, id=f"exams-menu-link-{action.id}")
                     if href else html.Button(action.label, className=cls,
                                              id={"type": "exams-menu-item", "action": action.id}))
    x = min(int(target.get("x", 0)), int(target.get("w", 1440)) - MENU_WIDTH - 8)
    y = min(int(target.get("y", 0)), int(target.get("h", 900)) - ITEM_HEIGHT * len(items) - 16)
    return items, {"display": "block", "left": f"{max(x, 0)}px", "top": f"{max(y, 0)}px", "width": f"{MENU_WIDTH}px"}


def _dispatch(clicks: list[int | None], target: dict[str, Any] | None, rows: Any) -> tuple[Any, Any]:
    """A callback action was chosen: tell its owner through `exams-menu-invoked`."""
    if not any(clicks) or not isinstance(ctx.triggered_id, dict) or target is None:
        return dash.no_update, dash.no_update
    row = _row(rows, target.get("id")) or {}
    return ({"action": ctx.triggered_id["action"], "exam_id": target.get("id"),
             "accession": row.get("accession"), "ts": target.get("ts")}, HIDDEN)


def _kv(label: str, value: Any) -> Any:
    return [html.Dt(label, className="col-sm-2 text-muted fw-normal"), html.Dd(value or "—", className="col-sm-4")]


def _reason(details: dict[str, Any] | None) -> str:
    """A row's free-text reason (a cancellation's, a snooze's); codes of the placement rows have their note."""
    reason = (details or {}).get("reason", "")
    return "" if reason in PLACEMENT_REASONS else str(reason)


def _detail_body(d: dict[str, Any]) -> Any:
    e, p = d["exam"], d["exam"]["patient"]
    fields = [("检查号", html.Span(e["accession"], className="fw-bold font-monospace")), ("患者", p["name"]),
              ("病案号", p["mrn"]), ("出生日期", p["birth_date"]), ("检查项目", e["item_name"]),
              ("设备", e["modality_label"]), ("部位", e["body_part"]), ("患者类别", e["patient_class_label"]),
              ("优先级", e["priority_label"]), ("院区", e["campus"]), ("检查室", e["room"]),
              ("预约时段", e["scheduled_local"]), ("申请科室", e["ordering_department"]),
              ("申请医生", e["ordering_doctor"]), ("登记时间", e["created_local"]), ("来源", e["source_system"]),
              ("检查状态", badge(e["status_label"], STATUS_COLORS.get(e["status"], "secondary"))),
              ("报告状态", badge(e["report_status_label"], REPORT_COLORS.get(e["report_status"], "light")))]
    if d.get("cloud"):
        fields.append(("省健康云", d["cloud"]))
    timeline = dbc.ListGroup([
        dbc.ListGroupItem([html.Span(ev["at_local"], className="font-monospace small text-muted me-3"),
                           html.Strong(ev["label"], className="me-3"), html.Span(ev["who"], className="small"),
                           html.Span(ev.get("note") or _reason(ev["details"]), className="small text-danger ms-3")])
        for ev in d["events"]], flush=True, id="exams-detail-timeline")
    return [html.Dl([x for k, v in fields for x in _kv(k, v)], className="row mb-3 small"),
            html.H6("时间线", className="border-bottom pb-1"), timeline]


def _detail(invoked: dict[str, Any] | None) -> tuple[Any, Any]:
    actor = page_actor()
    if not invoked or invoked.get("action") != "detail" or actor is None:
        return dash.no_update, dash.no_update
    try:
        return True, _detail_body(exam_detail.detail(services(), int(invoked["exam_id"]), by=actor))
    except DomainError as exc:
        return True, dbc.Alert(exc.message, color="danger")


def _cancel_open(invoked: dict[str, Any] | None, _back: Any) -> tuple[Any, ...]:
    if ctx.triggered_id == "exams-cancel-back":
        return False, dash.no_update, None, "", False
    if not invoked or invoked.get("action") != "cancel" or find("cancel") is None:
        return (dash.no_update,) * 5
    info = html.Div(["将取消检查 ", html.Strong(invoked.get("accession") or ""), "，已预约的号源会释放。"])
    return True, info, invoked["exam_id"], "", False


def _cancel_confirm(n: int | None, exam_id: int | None, reason: str | None, bump: int | None) -> tuple[Any, ...]:
    """Cancel through the registration service; a refusal is shown in the dialog and nothing changes."""
    actor = page_actor()
    if not n or exam_id is None:
        return (dash.no_update,) * 4
    if actor is None:
        return dash.no_update, EXPIRED, True, dash.no_update
    try:
        registration.cancel(services(), int(exam_id), reason=reason or "", by=actor)
    except DomainError as exc:
        return dash.no_update, exc.message, True, dash.no_update
    return False, "", False, (bump or 0) + 1


def register(app: dash.Dash) -> None:
    """Bind the menu's callbacks (called by the exam-list page's register)."""
    app.callback(Output("exams-menu", "children"), Output("exams-menu", "style"),
                   Input("exams-menu-target", "data"), State("exams-rows", "data"),
                   prevent_initial_call=True)(_open_menu)
    app.callback(Output("exams-menu-invoked", "data"), Output("exams-menu", "style", allow_duplicate=True),
                   Input({"type": "exams-menu-item", "action": ALL}, "n_clicks"), State("exams-menu-target", "data"),
                   State("exams-rows", "data"), prevent_initial_call=True)(_dispatch)
    app.callback(Output("exams-detail", "is_open"), Output("exams-detail-body", "children"),
                   Input("exams-menu-invoked", "data"), prevent_initial_call=True)(_detail)
    app.callback(Output("exams-cancel", "is_open"), Output("exams-cancel-info", "children"),
                   Output("exams-cancel-id", "data"), Output("exams-cancel-reason", "value"),
                   Output("exams-cancel-error", "is_open"),
                   Input("exams-menu-invoked", "data"), Input("exams-cancel-back", "n_clicks"),
                   prevent_initial_call=True)(_cancel_open)
    app.callback(Output("exams-cancel", "is_open", allow_duplicate=True),
                   Output("exams-cancel-error", "children"), Output("exams-cancel-error", "is_open",
                   allow_duplicate=True),
                   Output("exams-refresh", "data"),
                   Input("exams-cancel-confirm", "n_clicks"), State("exams-cancel-id", "data"),
                   State("exams-cancel-reason", "value"), State("exams-refresh", "data"),
                   prevent_initial_call=True)(_cancel_confirm)
