"""Choose the work shift after signing in (US-7, US-8): shift group, shift, room and typist; shows and
ends the current shift session."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update

from backend.domain.actor import Actor
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.patient_flow import shift_sessions
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.shell import staff_page

ACCESS = staff(Perm.EXAM_READ)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/shift"
NEXT = "/panels/us-room"


def current_card(s: dict[str, Any] | None) -> Any:
    if s is None:
        return dbc.Alert("您当前没有进行中的班次，请选择班次后开始工作。", color="info", id="shift-none")
    return dbc.Card(dbc.CardBody([
        html.H5("当前班次", className="card-title"),
        html.P(f"{s['group_name']} · {s['shift_name']}（{s['slot_label']}）", id="shift-current-name"),
        html.P(f"诊室：{s['room_name']}（{s['room_code']}） · 打字员：{'有' if s['with_typist'] else '无'} · "
               f"自动分诊上限 {s['capacity']}（班次最大 {s['max_auto']}，打字员权重 {s['typist_weight']}）",
               id="shift-current-room"),
        html.P(f"时段 {s['window']} · 开始于 {s['started_local']} · {s['ends_local']} 自动结束（院区当地时间）"
               + (" · 已暂停接诊" if s.get("paused") else ""), className="text-muted small", id="shift-current-times"),
        html.A("进入叫号列表", href=NEXT, className="btn btn-primary me-2", id="shift-go-room"),
    ]), className="mb-3", id="shift-current")


def _body(actor: Actor) -> Any:
    svc = services()
    groups = shift_sessions.choices(svc, by=actor)
    current = shift_sessions.current_session(svc, by=actor)
    return dbc.Container([
        html.H3("选择工作班次", className="mt-3 mb-3"),
        html.Div(current_card(current), id="shift-current-box"),
        dbc.Card(dbc.CardBody([
            dbc.Row([
                dbc.Col([dbc.Label("班次组"), dcc.Dropdown(id="shift-group", placeholder="选择班次组",
                                                        options=[{"label": g["name"], "value": g["id"]}
                                                                 for g in groups])], md=3),
                dbc.Col([dbc.Label("班次"), dcc.Dropdown(id="shift-shift", placeholder="先选择班次组")], md=3),
                dbc.Col([dbc.Label("诊室"), dcc.Dropdown(id="shift-room", placeholder="先选择班次")], md=3),
                dbc.Col([dbc.Label("打字员"), dbc.Switch(id="shift-typist", label="有打字员配合", value=False),
                         dbc.Checkbox(id="shift-takeover", label="接班（诊室已有人开班时）", value=False)], md=3),
            ], className="mb-3"),
            dbc.Button("开始班次", id="shift-start", color="primary", n_clicks=0, className="me-2"),
            dbc.Button("结束当前班次", id="shift-end", color="danger", outline=True, n_clicks=0),
        ]), className="mb-3"),
        html.Div(id="shift-room-warn"),
        html.Div(id="shift-msg"),
        dcc.Store(id="shift-choices", data=groups),
        dcc.Location(id="shift-go", refresh=True),
    ], fluid=True)


def layout(**_: Any) -> Any:
    return staff_page(Perm.EXAM_READ, PATH, _body)


def shift_pick_group(group: int | None, groups: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The shifts of the chosen group."""
    shifts = next((g["shifts"] for g in groups or [] if g["id"] == group), [])
    return [{"label": f"{s['name']}（{s['slot_label']} {s['window']}，上限 {s['max_auto']}）", "value": s["id"]}
            for s in shifts], None


def shift_pick_shift(shift: int | None, groups: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The rooms that may work the chosen shift."""
    rooms = next((s["rooms"] for g in groups or [] for s in g["shifts"] if s["id"] == shift), [])
    return [{"label": f"{r['code']} {r['name']}" + (f"（⚠ 本诊室不接诊：{'、'.join(r['unserved'])}）"
                                                   if r.get("unserved") else ""), "value": r["id"]}
            for r in rooms], None


def shift_room_warning(room: int | None, shift: int | None, groups: list[dict[str, Any]]) -> Any:
    """Warn when the room is not set up for every queue of the shift (those patients never come here)."""
    r = next((r for g in groups or [] for s in g["shifts"] if s["id"] == shift for r in s["rooms"]
              if r["id"] == room), None)
    if r is None or not r.get("unserved"):
        return None
    return dbc.Alert(f"注意：{r['code']} 诊室未设置接诊 {'、'.join(r['unserved'])}，这些队列的患者不会分到本诊室。",
                     color="warning", id="shift-room-warning")


def shift_act(_start: int, _end: int, shift: int | None, room: int | None, typist: bool,
              takeover: bool) -> tuple[Any, Any, Any]:
    """Open the chosen session (then go to the calling list) or end the current one."""
    actor = page_actor()
    if actor is None:
        return dbc.Alert("登录已过期，请重新登录", color="danger"), no_update, no_update
    try:
        if ctx.triggered_id == "shift-end":
            ended = shift_sessions.close_session(services(), by=actor, reason="closed")
            text = "班次已结束，候检患者已重新分诊" if ended else "当前没有进行中的班次"
            return dbc.Alert(text, color="success", id="shift-ok"), current_card(None), no_update
        if not shift or not room:
            return dbc.Alert("请选择班次和诊室", color="warning", id="shift-error"), no_update, no_update
        s = shift_sessions.open_session(services(), by=actor, shift_id=int(shift), room_id=int(room),
                                        with_typist=bool(typist), take_over=bool(takeover))
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="shift-error"), no_update, no_update
    return dbc.Alert(f"已开始班次：{s['shift_name']} · {s['room_name']}", color="success", id="shift-ok"), \
        current_card(s), NEXT


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="选择班次 - RadOps", name="选择班次", layout=layout)
    app.callback(Output("shift-shift", "options"), Output("shift-shift", "value"),
              Input("shift-group", "value"), State("shift-choices", "data"),
              prevent_initial_call=True)(shift_pick_group)
    app.callback(Output("shift-room", "options"), Output("shift-room", "value"),
              Input("shift-shift", "value"), State("shift-choices", "data"),
              prevent_initial_call=True)(shift_pick_shift)
    app.callback(Output("shift-room-warn", "children"), Input("shift-room", "value"), State("shift-shift", "value"),
                 State("shift-choices", "data"), prevent_initial_call=True)(shift_room_warning)
    app.callback(Output("shift-msg", "children"), Output("shift-current-box", "children"), Output("shift-go", "href"),
              Input("shift-start", "n_clicks"), Input("shift-end", "n_clicks"),
              State("shift-shift", "value"), State("shift-room", "value"), State("shift-typist", "value"),
              State("shift-takeover", "value"), prevent_initial_call=True)(shift_act)
