"""Manual triage (手工分诊, US-12..US-15) for triage nurses and admins: each room's doctor, shift, typist,
triage count against the maximum and queued patients; the unassigned pool; assign or move a patient to a
room, also beyond its maximum; live over Socket.IO (room "triage")."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.patient_flow import triage, triage_board
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services, socket_options
from panels.shell import staff_page

ACCESS = staff(Perm.TRIAGE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/triage"
EVENTS = listens(Audience.TRIAGE_BOARD)
POOL = "pool"


def _body(_actor: Actor) -> Any:
    return dbc.Container([
        html.H3("超声手工分诊", className="mt-3 mb-3"),
        dbc.Card(dbc.CardBody(dbc.Row([
            dbc.Col([dbc.Label("患者（候检）"), dcc.Dropdown(id="triage-ticket", placeholder="选择患者")], md=5),
            dbc.Col([dbc.Label("分到诊室"), dcc.Dropdown(id="triage-target", placeholder="选择诊室")], md=4),
            dbc.Col([dbc.Label("\u00a0", className="d-block"),
                     dbc.Button("分配", id="triage-assign", color="primary", n_clicks=0)], md=3),
        ])), className="mb-3"),
        html.Div(id="triage-flash"),
        html.Div(id="triage-board"),
        dcc.Store(id="triage-bump"),
        dcc.Interval(id="triage-resync", interval=15_000),
        DashSocketIO(id="triage-socket", eventNames=EVENTS, options=socket_options({"triage": "1"})),
    ], fluid=True)


def layout(**_: Any) -> Any:
    return staff_page(Perm.TRIAGE, PATH, _body)


def _patients(rows: list[dict[str, Any]], id_: str) -> Any:
    if not rows:
        return html.Div("无", className="text-muted small", id=id_)
    return html.Ul([html.Li(f"{r['code']} {r['name']} · {r['queue_name']}", className="small") for r in rows],
                   className="mb-0 ps-3", id=id_)


def _room_card(r: dict[str, Any]) -> Any:
    s = r["session"]
    head = f"{r['room_code']} {r['room_name']}"
    if s is None:
        body = [html.Div("未开班", className="text-muted")]
    else:
        color = "danger" if r["full"] else "success"
        body = [html.Div(f"医生：{r['doctor']} · 班次：{r['shift']} · 打字员：{'有' if r['with_typist'] else '无'}",
                         className="small"),
                html.Div([dbc.Badge(f"分诊 {r['load']} / 上限 {r['capacity']}", color=color, className="me-2",
                                    id=f"triage-load-{r['room_code']}"),
                          html.Span(f"班次最大自动分诊数 {r['max_auto']} · 排队 {r['queued']} 人", className="small")],
                         className="my-1"),
                _patients(r["patients"], f"triage-patients-{r['room_code']}")]
    return dbc.Col(dbc.Card([dbc.CardHeader(head), dbc.CardBody(body)], className="h-100",
                            id=f"triage-room-{r['room_code']}"), md=4, lg=3, className="mb-3")


def _view(board: dict[str, Any]) -> Any:
    pool = board["pool"]
    return html.Div([
        html.H5(f"待分诊（{len(pool)}）"),
        _patients(pool, "triage-pool"),
        html.H5("诊室", className="mt-3"),
        dbc.Row([_room_card(r) for r in board["rooms"]]),
    ])


def _options(board: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tickets = [{"label": f"{p['code']} {p['name']} · {p['queue_name']} · 待分诊", "value": p["ticket_id"]}
               for p in board["pool"]]
    for r in board["rooms"]:
        tickets += [{"label": f"{p['code']} {p['name']} · {p['queue_name']} · {r['room_code']}",
                     "value": p["ticket_id"]} for p in r["patients"]]
    rooms = [{"label": f"{r['room_code']} {r['room_name']} · {r['load']}/{r['capacity']}"
              + ("（已满）" if r["full"] else ""), "value": r["room_id"]} for r in board["rooms"] if r["session"]]
    return tickets, [*rooms, {"label": "退回待分诊池", "value": POOL}]


def triage_assign(n: int, ticket: int | None, target: Any) -> tuple[Any, Any]:
    """Move the chosen patient (also into a full room, US-15); its own callback so a live refresh never
    re-sends the click."""
    actor = page_actor()
    if actor is None:
        return dbc.Alert("登录已过期，请重新登录", color="danger", id="triage-flash-msg"), dash.no_update
    try:
        if not ticket or not target:
            raise DomainError("请选择患者和目标诊室", code="choose_first")
        t = triage.assign(services(), int(ticket), None if target == POOL else int(target), by=actor)
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="triage-flash-msg"), dash.no_update
    where = t["room_name"] or "待分诊池"
    return dbc.Alert(f"{t['code']} 已分到 {where}", color="success", id="triage-flash-msg", duration=8000), n


def triage_refresh(*_: Any) -> tuple[Any, ...]:
    """Redraw the board and the pickers (on load, after a move, on every ticket event, every 15 s)."""
    actor = page_actor()
    if actor is None:
        return dash.no_update, dash.no_update, dash.no_update
    board = triage_board.board(services(), by=actor)
    tickets, rooms = _options(board)
    return _view(board), tickets, rooms


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="超声分诊 - RadOps", name="超声分诊", layout=layout)
    app.callback(Output("triage-flash", "children"), Output("triage-bump", "data"),
              Input("triage-assign", "n_clicks"), State("triage-ticket", "value"), State("triage-target", "value"),
              prevent_initial_call=True)(triage_assign)
    app.callback(Output("triage-board", "children"), Output("triage-ticket", "options"), Output("triage-target",
    "options"),
              Input("triage-resync", "n_intervals"), Input("triage-bump", "data"),
              *[Input("triage-socket", f"data-{e}") for e in EVENTS])(triage_refresh)
