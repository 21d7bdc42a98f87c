"""Admin page /admin/slots: a queue's slot grid (booked/capacity by day and hour), generate, edit capacity."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.admin import org
from backend.services.admin import slots as admin_slots
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import alert, current_actor, error_alert
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/slots"
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
HOURS = list(range(7, 21))


def _label(text: str, control: Any, md: int) -> Any:
    return dbc.Col([dbc.Label(text, className="small mb-0"), control], md=md, className="mb-2")


def _parse(value: str | None, what: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError as exc:
        raise InvalidInput(f"请填写{what}", code="invalid_date") from exc


def body(actor: Any) -> Any:
    today = services().clock().astimezone(services().tz).date()
    queues = [{"label": f"{q['code']} {q['name']}", "value": q["id"]}
              for q in org.list_queues(services(), by=actor) if q["active"]]
    return html.Div([
        dbc.Card(dbc.CardBody(dbc.Row([
            _label("队列", dcc.Dropdown(id="slots-queue", options=queues, className="small",
                                      placeholder="选择队列"), 4),
            _label("开始日期", dbc.Input(id="slots-from", type="date", value=today.isoformat(), size="sm"), 2),
            _label("结束日期", dbc.Input(id="slots-to", type="date", value=(today + timedelta(days=6)).isoformat(),
                                       size="sm"), 2),
            dbc.Col(dbc.Button("查询", id="slots-show", color="primary", size="sm", className="mt-3"), width="auto"),
        ], align="end")), className="shadow-sm mb-3"),
        dbc.Row([
            dbc.Col(generate_card(), md=7),
            dbc.Col(edit_card(), md=5),
        ], className="mb-3"),
        html.Div(id="slots-grid"),
    ])


def generate_card() -> Any:
    """The bulk generation form: start hours, weekdays, capacity and slot length."""
    hours = dbc.Checklist(id="slots-hours", options=[{"label": f"{h:02d}:00", "value": h} for h in HOURS],
                          value=[8, 9, 10, 11, 13, 14, 15, 16], inline=True, className="small mb-2")
    weekdays = dbc.Checklist(id="slots-weekdays", options=[{"label": w, "value": i} for i, w in enumerate(WEEKDAYS)],
                             value=list(range(5)), inline=True, className="small mb-2")
    return dbc.Card([
        dbc.CardHeader("批量生成号源（已存在的时段不会重复生成）", className="fw-semibold"),
        dbc.CardBody([
            dbc.Label("开始整点", className="small mb-0"), hours,
            dbc.Label("星期", className="small mb-0"), weekdays,
            dbc.Row([_label("每时段容量", dbc.Input(id="slots-capacity", type="number", min=1, max=500, value=5,
                                               size="sm"), 4),
                     _label("时段长度（分钟）", dbc.Input(id="slots-length", type="number", min=10, max=1440,
                                                  value=60, size="sm"), 4)]),
            html.Div(id="slots-gen-msg"),
            dbc.Button("生成号源", id="slots-generate", color="success", size="sm"),
        ]),
    ], className="shadow-sm h-100")


def edit_card() -> Any:
    """The picked slot: change its capacity, deactivate (confirmed) or reactivate it."""
    return dbc.Card([dbc.CardHeader("所选号源", className="fw-semibold"), dbc.CardBody([
        html.Div("点击下方表格中的号源进行编辑", id="slots-picked", className="small mb-2"),
        dbc.Row([_label("容量", dbc.Input(id="slots-new-capacity", type="number", min=1, max=500,
                                        size="sm"), 6),
                 dbc.Col(dbc.Button("修改容量", id="slots-save", color="primary", size="sm", className="mt-3"),
                         width="auto")]),
        html.Div(id="slots-edit-msg"),
        dbc.Button("停用号源", id="slots-deactivate", color="warning", size="sm", className="me-2"),
        dbc.Button("启用号源", id="slots-activate", color="secondary", size="sm", outline=True),
        dcc.ConfirmDialog(id="slots-confirm", message="确定停用该号源吗？停用后不能再预约此时段。"),
        dcc.Store(id="slots-selected"),
    ])], className="shadow-sm h-100")


def grid(slots: list[dict[str, Any]]) -> Any:
    """Rows are start times, columns days; each cell reads booked/capacity and can be picked."""
    if not slots:
        return dbc.Alert("该日期范围内没有号源，可在上方批量生成。", color="info", id="slots-empty")
    days = sorted({s["day"] for s in slots})
    times = sorted({s["start"] for s in slots})
    at = {(s["day"], s["start"]): s for s in slots}

    def cell(s: dict[str, Any] | None) -> Any:
        if s is None:
            return html.Td("")
        color = "secondary" if not s["active"] or s["past"] else ("danger" if s["booked"] >= s["capacity"]
                                                                   else "success")
        text = f"{s['booked']}/{s['capacity']}" + ("（停）" if not s["active"] else "")
        return html.Td(dbc.Button(text, id={"type": "slots-cell", "id": s["id"]}, color=color, size="sm",
                                  outline=not s["active"], className="w-100 py-0"))

    head = html.Thead(html.Tr([html.Th("时段")] + [
        html.Th(f"{d[5:]} {WEEKDAYS[date.fromisoformat(d).weekday()]}") for d in days]))
    rows = [html.Tr([html.Th(t)] + [cell(at.get((d, t))) for d in days]) for t in times]
    legend = html.Div("格内为 已预约/容量；绿色有余量，红色已满，灰色已过或已停用。", className="small text-muted mb-1")
    return html.Div([legend, dbc.Table([head, html.Tbody(rows)], bordered=True, size="sm", id="slots-table",
                                       className="bg-white small text-center")])


def show(queue_id: int | None, day_from: str | None, day_to: str | None) -> Any:
    if queue_id is None:
        return alert("请先选择队列", False, "slots-grid-error")
    try:
        return grid(admin_slots.list_slots(services(), queue_id, _parse(day_from, "开始日期"),
                                           _parse(day_to, "结束日期"), by=current_actor()))
    except DomainError as exc:
        return error_alert(exc, "slots-grid-error")


def generate(queue_id: int | None, day_from: str | None, day_to: str | None, hours: list[int] | None,
             weekdays: list[int] | None, capacity: Any, length: Any) -> tuple[Any, Any]:
    """Generate slots and redraw the grid; reports how many were added and how many already existed."""
    try:
        if queue_id is None:
            raise InvalidInput("请先选择队列", code="no_queue_selected")
        res = admin_slots.generate(services(), queue_id, date_from=_parse(day_from, "开始日期"),
                                   date_to=_parse(day_to, "结束日期"), hours=hours or [], weekdays=weekdays or [],
                                   capacity=capacity if isinstance(capacity, int) else -1,
                                   length_min=length if isinstance(length, int) else 60, by=current_actor())
    except DomainError as exc:
        return error_alert(exc, "slots-gen-error"), no_update
    text = f"新增 {res['created']} 个号源，已存在 {res['existing']} 个（未重复生成）"
    return alert(text, True, "slots-gen-ok"), show(queue_id, day_from, day_to)


def edit(trigger: str, slot_id: int | None, capacity: Any, view: tuple[Any, Any, Any]) -> tuple[Any, Any]:
    """Change capacity, deactivate (after confirming) or activate the picked slot."""
    try:
        if slot_id is None:
            raise InvalidInput("请先在表格中点击一个号源", code="no_slot_selected")
        svc, by = services(), current_actor()
        if trigger == "slots-save":
            admin_slots.set_capacity(svc, slot_id, capacity if isinstance(capacity, int) else -1, by=by)
            text = "容量已修改"
        else:
            admin_slots.set_active(svc, slot_id, trigger == "slots-activate", by=by)
            text = "号源已启用" if trigger == "slots-activate" else "号源已停用"
    except DomainError as exc:
        return error_alert(exc, "slots-edit-error"), no_update
    return alert(text, True, "slots-edit-ok"), show(*view)


def pick(slot_id: int) -> tuple[Any, Any, Any]:
    """Select a slot of the grid for editing."""
    try:
        s = admin_slots.get_slot(services(), slot_id, by=current_actor())
    except DomainError as exc:
        return None, exc.message, None
    text = f"{s['day']} {s['start']}-{s['end']}：已预约 {s['booked']}，容量 {s['capacity']}" + (
        "（已停用）" if not s["active"] else "")
    return slot_id, text, s["capacity"]


def _callbacks(app: Any) -> None:
    view = [State("slots-queue", "value"), State("slots-from", "value"), State("slots-to", "value")]
    app.callback(Output("slots-grid", "children"), Input("slots-show", "n_clicks"), *view,
                 prevent_initial_call=True)(lambda _n, q, f, t: show(q, f, t))
    app.callback(Output("slots-gen-msg", "children"), Output("slots-grid", "children", allow_duplicate=True),
                 Input("slots-generate", "n_clicks"), *view, State("slots-hours", "value"),
                 State("slots-weekdays", "value"), State("slots-capacity", "value"), State("slots-length", "value"),
                 prevent_initial_call=True)(lambda _n, *a: generate(*a))

    def _pick(clicks: list[Any]) -> tuple[Any, Any, Any]:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update, no_update, no_update
        return pick(int(ctx.triggered_id["id"]))

    app.callback(Output("slots-selected", "data"), Output("slots-picked", "children"),
                 Output("slots-new-capacity", "value"), Input({"type": "slots-cell", "id": ALL}, "n_clicks"),
                 prevent_initial_call=True)(_pick)
    app.callback(Output("slots-confirm", "displayed"), Input("slots-deactivate", "n_clicks"),
                 prevent_initial_call=True)(lambda _n: True)
    app.callback(Output("slots-edit-msg", "children"), Output("slots-grid", "children", allow_duplicate=True),
                 Input("slots-save", "n_clicks"), Input("slots-confirm", "submit_n_clicks"),
                 Input("slots-activate", "n_clicks"), State("slots-selected", "data"),
                 State("slots-new-capacity", "value"), *view, prevent_initial_call=True,
                 )(lambda _a, _b, _c, sel, cap, q, f, t: edit(
                     "slots-deactivate" if ctx.triggered_id == "slots-confirm" else str(ctx.triggered_id),
                     sel, cap, (q, f, t)))


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "号源管理", body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "号源管理", layout, _callbacks)
