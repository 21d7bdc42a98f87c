"""The room desk (叫号台): choose a room; call next, call again, missed, start, finish, transfer; the waiting
and missed lists live over Socket.IO; a nurse-desk check-in for patients the kiosk sent to the desk."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.patient_flow import calling, checkin
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services, socket_options
from panels.shell import staff_page

ACCESS = staff(Perm.EXAM_OPERATE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/room-desk"
TICKET_EVENTS = listens(Audience.ROOM_DESK)
ACTIONS = {"desk-recall": calling.recall, "desk-missed": calling.mark_missed, "desk-start": calling.start_exam,
           "desk-finish": calling.finish_exam}


def _room_options(actor: Actor) -> list[dict[str, Any]]:
    return [{"label": r["name"], "value": r["id"]} for r in calling.rooms(services(), by=actor)]


def _buttons() -> Any:
    spec = [("desk-call", "叫下一位", "primary"), ("desk-recall", "重呼", "info"), ("desk-missed", "过号", "warning"),
            ("desk-start", "开始检查", "success"), ("desk-finish", "完成检查", "dark")]
    return html.Div([dbc.Button(label, id=i, color=c, size="lg", className="me-2 mb-2", n_clicks=0)
                     for i, label, c in spec], className="mb-2")


def _body(actor: Actor, room: int | None) -> Any:
    rooms = _room_options(actor)
    return dbc.Container([
        dbc.Row([
            dbc.Col([dbc.Label("检查室"), dcc.Dropdown(id="desk-room", options=rooms, value=room, clearable=False,
                                                     placeholder="选择检查室")], md=3),
            dbc.Col([dbc.Label("护士站签到（病案号或检查号）"), dbc.InputGroup([
                dbc.Input(id="desk-code", placeholder="病案号或检查号", n_submit=0),
                dbc.Button("签到", id="desk-checkin", n_clicks=0, color="secondary")])], md=5),
            dbc.Col([dbc.Label("转诊室"), dbc.InputGroup([
                dcc.Dropdown(id="desk-target", options=rooms, placeholder="目标检查室", style={"minWidth": "160px"}),
                dbc.Button("转诊室", id="desk-transfer", n_clicks=0, color="secondary")])], md=4),
        ], className="mb-3"),
        _buttons(),
        html.Div(id="desk-flash"),
        html.Div(id="desk-state"),
        dcc.Location(id="desk-url", refresh=True),
        dcc.Interval(id="desk-resync", interval=15_000),
        DashSocketIO(id="desk-socket", eventNames=TICKET_EVENTS,
                     options=socket_options({"exams": "1", **({"room": str(room)} if room else {})})),
    ], fluid=True)


def layout(room: str | None = None, **_: Any) -> Any:
    rid = int(room) if room and str(room).isdigit() else None
    return staff_page(Perm.EXAM_OPERATE, PATH, lambda actor: _body(actor, rid))


def _ticket_table(rows: list[dict[str, Any]], id_: str) -> Any:
    if not rows:
        return html.Div("无", className="text-muted", id=id_)
    # Staff see who the patient is (full name, sex, age, MRN: issue 14 item 9); public screens mask.
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("排队号", "姓名", "性别", "年龄", "病案号", "队列",
                                                                "优先级", "检查号")])),
                      html.Tbody([html.Tr([html.Td(r["code"]), html.Td(r["name"]), html.Td(r.get("sex", "")),
                                           html.Td(r.get("age") if r.get("age") is not None else ""),
                                           html.Td(r.get("mrn", "")), html.Td(r["queue_name"]),
                                           html.Td({"stat": "危急", "urgent": "急"}.get(r["priority"], "普通")),
                                           html.Td(r["accession"])]) for r in rows])],
                     size="sm", striped=True, id=id_)


def _state_view(state: dict[str, Any]) -> Any:
    cur = state["current"]
    current = html.Div([html.Span(cur["code"], className="display-5 fw-bold me-3", id="desk-current-code"),
                        html.Span(f"{cur.get('identity') or cur['name']} · {cur['status_label']} · "
                                  f"呼叫 {cur['call_count']} 次", id="desk-current-who")]) \
        if cur else html.Div("当前无患者", className="text-muted", id="desk-current-code")
    return dbc.Row([
        dbc.Col([html.H5(f"{state['room_name']} · 当前"), current,
                 html.H5(f"候检（{len(state['waiting'])}）", className="mt-3"),
                 _ticket_table(state["waiting"], "desk-waiting")], md=8),
        dbc.Col([html.H5(f"过号（{len(state['missed'])}）"), _ticket_table(state["missed"], "desk-missed-list")],
                md=4),
    ])


def _act(actor: Actor, trigger: str, room: int, state: dict[str, Any], code: str, target: int | None) -> str:
    svc = services()
    cur = state["current"]
    if trigger == "desk-call":
        return f"已叫号 {calling.call_next(svc, room, by=actor)['code']}"
    if trigger in ("desk-checkin", "desk-code"):
        method = "barcode" if code.upper().startswith("RA") else "mrn"
        res = checkin.check_in(svc, None, method, code, by=actor)["results"]
        return "；".join(f"{r['item']}：{r['ticket']['code'] if r['ok'] else r['message']}" for r in res) or "无检查"
    if cur is None:
        return "当前没有已叫号的患者"
    if trigger == "desk-transfer":
        if not target:
            return "请选择目标检查室"
        return f"{calling.transfer(svc, cur['ticket_id'], int(target), by=actor)['code']} 已转诊室"
    return f"{ACTIONS[trigger](svc, cur['ticket_id'], by=actor)['code']} 已更新"


def desk_refresh(room: int | None, *args: Any) -> tuple[Any, Any]:
    """Redraw the room's lines; a button press runs its action first and flashes the outcome."""
    actor = page_actor()
    if actor is None or not room:
        return html.Div("请选择检查室", className="text-muted"), None
    code, target = args[-2], args[-1]
    trigger = str(ctx.triggered_id or "")
    flash = None
    try:
        if trigger.startswith("desk-") and trigger not in ("desk-room", "desk-resync", "desk-socket"):
            state = calling.room_state(services(), room, by=actor)
            flash = dbc.Alert(_act(actor, trigger, room, state, (code or "").strip(), target), color="success",
                              id="desk-flash-msg", duration=6000)
    except DomainError as exc:
        flash = dbc.Alert(exc.message, color="danger", id="desk-flash-msg")
    return _state_view(calling.room_state(services(), room, by=actor)), flash


def desk_pick_room(room: int | None, search: str | None) -> Any:
    """Reload with ?room=<id> so the live connection joins that room's Socket.IO room."""
    want = f"?room={room}" if room else ""
    return dash.no_update if (search or "") == want else want


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="叫号台 - RadOps", name="叫号台", layout=layout)
    app.callback(
        Output("desk-state", "children"), Output("desk-flash", "children"),
        Input("desk-room", "value"), Input("desk-resync", "n_intervals"),
        *[Input("desk-socket", f"data-{e}") for e in TICKET_EVENTS],
        *[Input(i, "n_clicks") for i in ("desk-call", "desk-recall", "desk-missed", "desk-start", "desk-finish",
                                        "desk-transfer", "desk-checkin")],
        Input("desk-code", "n_submit"), State("desk-code", "value"), State("desk-target", "value"),
    )(desk_refresh)
    app.callback(Output("desk-url", "search"), Input("desk-room", "value"), State("desk-url", "search"),
              prevent_initial_call=True)(desk_pick_room)
