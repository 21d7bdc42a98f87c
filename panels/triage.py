"""Manual triage (手工分诊, US-12..US-15) for triage nurses and admins: each room's doctor, shift, typist,
triage count against the maximum and queued patients with who they are (full name, sex, age, MRN), their
priority flags and waiting time, and today's totals per room; search; the unassigned pool; assign or move a
patient to a room (picker or drag and drop), also beyond its maximum; pause, resume, close or hand over a
room's shift; live over Socket.IO (room "triage")."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.patient_flow import shift_sessions, triage, triage_board
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
            dbc.Col([dbc.Label("患者（候检）"), dcc.Dropdown(id="triage-ticket", placeholder="选择患者")], md=4),
            dbc.Col([dbc.Label("分到诊室"), dcc.Dropdown(id="triage-target", placeholder="选择诊室")], md=3),
            dbc.Col([dbc.Label("\u00a0", className="d-block"),
                     dbc.Button("分配", id="triage-assign", color="primary", n_clicks=0)], md=1),
            dbc.Col([dbc.Label("查找患者"), dbc.Input(id="triage-search", placeholder="姓名、病案号或排队号",
                                                   debounce=True, type="search")], md=4),
        ])), className="mb-3"),
        html.Div("提示：可直接把患者拖到其他诊室或待分诊池。", className="text-muted small mb-2"),
        html.Div(id="triage-flash"),
        html.Div(id="triage-board"),
        dcc.Store(id="triage-bump"),
        dcc.Store(id="triage-drop"),
        dcc.Interval(id="triage-resync", interval=15_000),
        DashSocketIO(id="triage-socket", eventNames=EVENTS, options=socket_options({"triage": "1"})),
    ], fluid=True)


def layout(**_: Any) -> Any:
    return staff_page(Perm.TRIAGE, PATH, _body)


def _patients(rows: list[dict[str, Any]], id_: str) -> Any:
    if not rows:
        return html.Div("无", className="text-muted small", id=id_)
    return html.Ul([html.Li([html.Span(r["code"], className="fw-bold me-1"),
                             html.Span(f"{r['name']} {r.get('sex', '')} "
                                       f"{'' if r.get('age') is None else str(r['age']) + '岁'} {r.get('mrn', '')}"),
                             *[dbc.Badge(f, color="danger", className="ms-1 triage-flag") for f in r.get("flags", [])],
                             html.Span(f" · {r['queue_name']} · 已等 {r.get('waited_min', 0)} 分",
                                       className="text-muted")],
                            className="small triage-patient", draggable="true", **{"data-ticket": str(r["ticket_id"])},
                            id=f"triage-p-{r['ticket_id']}")
                    for r in rows], className="mb-0 ps-3", id=id_)


def _today(r: dict[str, Any]) -> str:
    t = r.get("today") or {}
    avg = "—" if t.get("avg_exam_min") is None else f"{t['avg_exam_min']} 分"
    return f"今日完成 {t.get('finished', 0)} · 过号 {t.get('no_show', 0)} · 平均检查 {avg}"


def _room_actions(r: dict[str, Any]) -> Any:
    code, paused = r["room_code"], r.get("paused")
    return html.Div([
        dbc.Button("恢复" if paused else "暂停", id={"type": "triage-act", "room": r["room_id"],
                                                  "action": "resume" if paused else "pause"},
                   size="sm", color="secondary", outline=True, className="me-1", n_clicks=0),
        dbc.Button("结班", id={"type": "triage-act", "room": r["room_id"], "action": "close"},
                   size="sm", color="danger", outline=True, className="me-1", n_clicks=0),
    ], className="mt-2", id=f"triage-actions-{code}")


def _room_card(r: dict[str, Any]) -> Any:
    s = r["session"]
    head = f"{r['room_code']} {r['room_name']}"
    if s is None:
        body = [html.Div("未开班", className="text-muted"), html.Div(_today(r), className="small text-muted"),
                _patients(r["patients"], f"triage-patients-{r['room_code']}")]
    else:
        color = "warning" if r.get("paused") else ("danger" if r["full"] else "success")
        body = [html.Div(f"医生：{r['doctor']} · 班次：{r['shift']} · 打字员：{'有' if r['with_typist'] else '无'}",
                         className="small"),
                html.Div([dbc.Badge(f"分诊 {r['load']} / 上限 {r['capacity']}"
                                    + ("（暂停）" if r.get("paused") else ""), color=color, className="me-2",
                                    id=f"triage-load-{r['room_code']}"),
                          html.Span(f"班次最大自动分诊数 {r['max_auto']} · 排队 {r['queued']} 人", className="small")],
                         className="my-1"),
                html.Div(_today(r), className="small text-muted", id=f"triage-today-{r['room_code']}"),
                _patients(r["patients"], f"triage-patients-{r['room_code']}"), _room_actions(r)]
    drop = {"data-drop-room": str(r["room_id"])} if s is not None else {}
    return dbc.Col(html.Div(dbc.Card([dbc.CardHeader(head), dbc.CardBody(body)], className="h-100",
                                     id=f"triage-room-{r['room_code']}"), className="h-100", **drop),
                   md=4, lg=3, className="mb-3")


def _view(board: dict[str, Any]) -> Any:
    pool, t = board["pool"], board["totals"]
    return html.Div([
        html.Div(f"今日：候检 {t['waiting']} 人（待分诊 {t['pool']}） · 已完成 {t.get('finished', 0)} · "
                 f"过号 {t.get('no_show', 0)}", className="mb-2", id="triage-totals"),
        html.Div([html.H5(f"待分诊（{len(pool)}）"), _patients(pool, "triage-pool")],
                 **{"data-drop-room": POOL}, className="p-2 border rounded mb-2", id="triage-pool-box"),
        html.H5("诊室", className="mt-3"),
        dbc.Row([_room_card(r) for r in board["rooms"]]),
    ])


def _options(board: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tickets = [{"label": f"{p['code']} {p['name']} {p.get('mrn', '')} · {p['queue_name']} · 待分诊",
                "value": p["ticket_id"]} for p in board["pool"]]
    for r in board["rooms"]:
        tickets += [{"label": f"{p['code']} {p['name']} {p.get('mrn', '')} · {p['queue_name']} · {r['room_code']}",
                     "value": p["ticket_id"]} for p in r["patients"]]
    rooms = [{"label": f"{r['room_code']} {r['room_name']} · {r['load']}/{r['capacity']}"
              + ("（已满）" if r["full"] else ""), "value": r["room_id"]} for r in board["rooms"] if r["session"]]
    return tickets, [*rooms, {"label": "退回待分诊池", "value": POOL}]


def _move(actor: Actor, ticket: Any, target: Any) -> Any:
    try:
        if not ticket or not target:
            raise DomainError("请选择患者和目标诊室", code="choose_first")
        t = triage.assign(services(), int(ticket), None if target == POOL else int(target), by=actor)
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="triage-flash-msg")
    except (TypeError, ValueError):
        return dbc.Alert("目标无效", color="danger", id="triage-flash-msg")
    where = t["room_name"] or "待分诊池"
    return dbc.Alert(f"{t['code']} 已分到 {where}", color="success", id="triage-flash-msg", duration=8000)


def triage_drop(drop: dict[str, Any] | None) -> tuple[Any, Any]:
    """A patient dropped on a room card (or the pool): move them like the picker does."""
    actor = page_actor()
    if actor is None:
        return dbc.Alert("登录已过期，请重新登录", color="danger", id="triage-flash-msg"), dash.no_update
    if not drop:
        return dash.no_update, dash.no_update
    return _move(actor, drop.get("ticket"), drop.get("room")), drop.get("at")


def triage_room_action(_clicks: list[int | None]) -> tuple[Any, Any]:
    """Pause, resume or close a room's shift (the nurse's and the admin's room actions, issue 15 item 9)."""
    actor = page_actor()
    trig = ctx.triggered_id
    if actor is None:
        return dbc.Alert("登录已过期，请重新登录", color="danger", id="triage-flash-msg"), dash.no_update
    if not isinstance(trig, dict) or not any(c for c in _clicks or []):
        return dash.no_update, dash.no_update
    labels = {"pause": "已暂停", "resume": "已恢复", "close": "已结班（候检患者重新分诊）"}
    try:
        s = shift_sessions.supervise(services(), int(trig["room"]), str(trig["action"]), by=actor)
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="triage-flash-msg"), dash.no_update
    return dbc.Alert(f"{s['room_name']} {labels[str(trig['action'])]}", color="success", id="triage-flash-msg",
                     duration=8000), f"act-{s['id']}-{trig['action']}"


def triage_assign(n: int, ticket: int | None, target: Any) -> tuple[Any, Any]:
    """Move the chosen patient (also into a full room, US-15); its own callback so a live refresh never
    re-sends the click."""
    actor = page_actor()
    if actor is None:
        return dbc.Alert("登录已过期，请重新登录", color="danger", id="triage-flash-msg"), dash.no_update
    return _move(actor, ticket, target), n


def triage_refresh(*args: Any) -> tuple[Any, ...]:
    """Redraw the board and the pickers (on load, after a move, on every ticket event, every 15 s, on search)."""
    actor = page_actor()
    if actor is None:
        return dash.no_update, dash.no_update, dash.no_update
    board = triage_board.board(services(), by=actor, q=str(args[-1] or ""))
    tickets, rooms = _options(board)
    return _view(board), tickets, rooms


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="超声分诊 - RadOps", name="超声分诊", layout=layout)
    app.callback(Output("triage-flash", "children"), Output("triage-bump", "data"),
                 Input("triage-assign", "n_clicks"), State("triage-ticket", "value"), State("triage-target", "value"),
                 prevent_initial_call=True)(triage_assign)
    app.callback(Output("triage-flash", "children", allow_duplicate=True),
                 Output("triage-bump", "data", allow_duplicate=True),
                 Input("triage-drop", "data"), prevent_initial_call=True)(triage_drop)
    app.callback(Output("triage-flash", "children", allow_duplicate=True),
                 Output("triage-bump", "data", allow_duplicate=True),
                 Input({"type": "triage-act", "room": ALL, "action": ALL}, "n_clicks"),
                 prevent_initial_call=True)(triage_room_action)
    app.callback(Output("triage-board", "children"), Output("triage-ticket", "options"), Output("triage-target",
                 "options"),
                 Input("triage-resync", "n_intervals"), Input("triage-bump", "data"),
                 *[Input("triage-socket", f"data-{e}") for e in EVENTS],
                 Input("triage-search", "value"))(triage_refresh)
