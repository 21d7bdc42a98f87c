"""The sonographer's calling list (US-9, US-10): the room of the current shift, its auto-triaged patients,
call next / again / missed / start / finish, and how many wait in each queue of the shift; live over Socket.IO."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, ctx, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.patient_flow import calling, shift_sessions, triage_board
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services, socket_options
from panels.shell import staff_page

ACCESS = staff(Perm.EXAM_OPERATE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/us-room"
EVENTS = listens(Audience.US_ROOM)
BUTTONS = [("usroom-call", "叫下一位", "primary"), ("usroom-recall", "重呼", "info"),
           ("usroom-missed", "过号", "warning"), ("usroom-start", "开始检查", "success"),
           ("usroom-finish", "完成检查", "dark")]
ACTIONS = {"usroom-recall": calling.recall, "usroom-missed": calling.mark_missed,
           "usroom-start": calling.start_exam, "usroom-finish": calling.finish_exam}


def _body(actor: Actor) -> Any:
    s = shift_sessions.current_session(services(), by=actor)
    if s is None:
        return dbc.Container(dbc.Alert(["您还没有选择班次（或班次已结束）。", html.A("去选择班次", href="/panels/shift",
                                                                   className="alert-link ms-2")],
                                       color="warning", className="mt-4", id="usroom-no-shift"))
    return dbc.Container([
        html.H4(f"{s['room_name']} · {s['shift_name']} · 打字员{'有' if s['with_typist'] else '无'} · "
                f"自动分诊上限 {s['capacity']}", className="mt-3", id="usroom-title"),
        html.Div(f"时段 {s['window']} · {s['ends_local']} 自动结束" + (" · 已被护士暂停接诊" if s["paused"] else ""),
                 className="text-muted small mb-2", id="usroom-times"),
        html.Div([dbc.Button(label, id=i, color=c, size="lg", className="me-2 mb-2", n_clicks=0)
                  for i, label, c in BUTTONS]),
        html.Div(id="usroom-flash"),
        html.Div(id="usroom-counts", className="mb-2"),
        html.Div(id="usroom-state"),
        dcc.Store(id="usroom-room", data=s["room_id"]),
        dcc.Interval(id="usroom-resync", interval=15_000),
        DashSocketIO(id="usroom-socket", eventNames=EVENTS, options=socket_options({"room": str(s["room_id"])})),
    ], fluid=True)


def layout(**_: Any) -> Any:
    return staff_page(Perm.EXAM_OPERATE, PATH, _body)


def _flags(r: dict[str, Any]) -> Any:
    return [dbc.Badge(f, color="danger", className="me-1 usroom-flag") for f in r.get("flags", [])]


def _table(rows: list[dict[str, Any]], id_: str, notes: dict[int, dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("无", className="text-muted", id=id_)
    # Staff see the full name, sex, age and MRN (issue 14 item 9), the priority flags (issue 15 item 7) and the
    # patient's other pending exams (item 5).
    head = ("排队号", "姓名", "性别", "年龄", "病案号", "队列", "优先", "其他待检")
    body = []
    for r in rows:
        n = notes.get(r["exam_id"], {})
        body.append(html.Tr([html.Td(r["code"]), html.Td(r["name"]), html.Td(r.get("sex", "")),
                             html.Td("" if r.get("age") is None else r["age"]), html.Td(r.get("mrn", "")),
                             html.Td(r["queue_name"]), html.Td(_flags(n) or {"stat": "危急", "urgent": "急"}.get(
                                 r["priority"], "")), html.Td("；".join(n.get("others", [])), className="small")]))
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
                     size="sm", striped=True, id=id_)


def _counts(rows: list[dict[str, Any]]) -> Any:
    return html.Div([dbc.Badge(f"{r['queue_name']}：候检 {r['waiting']}（本诊室 {r['at_my_room']}，"
                               f"待分诊 {r['pool']}）", color="secondary", className="me-2 p-2") for r in rows],
                    id="usroom-count-badges")


def _state(state: dict[str, Any], notes: dict[int, dict[str, Any]]) -> Any:
    cur = state["current"]
    current = html.Div([html.Span(cur["code"], className="display-5 fw-bold me-3", id="usroom-current"),
                        html.Span(f"{cur.get('identity') or cur['name']} · {cur['status_label']}",
                                  id="usroom-current-who"), *_flags(notes.get(cur["exam_id"], {}))]) if cur else \
        html.Div("当前无患者", className="text-muted", id="usroom-current")
    return dbc.Row([
        dbc.Col([html.H5("当前"), current, html.H5(f"叫号列表（{len(state['waiting'])}）", className="mt-3"),
                 _table(state["waiting"], "usroom-waiting", notes)], md=8),
        dbc.Col([html.H5(f"过号（{len(state['missed'])}）"), _table(state["missed"], "usroom-missed-list", notes)],
                md=4),
    ])


def _act(actor: Actor, trigger: str, room: int) -> str:
    svc = services()
    if trigger == "usroom-call":
        return f"已叫号 {calling.call_next(svc, room, by=actor)['code']}"
    cur = calling.room_state(svc, room, by=actor)["current"]
    if cur is None:
        return "当前没有已叫号的患者"
    return f"{ACTIONS[trigger](svc, cur['ticket_id'], by=actor)['code']} 已更新"


def usroom_refresh(room: int | None, *_: Any) -> tuple[Any, ...]:
    """Redraw the calling list and counts; a button press runs its action first."""
    actor = page_actor()
    if actor is None or not room:
        return dash.no_update, dash.no_update, dash.no_update
    trigger, flash = str(ctx.triggered_id or ""), dash.no_update
    if trigger in {b[0] for b in BUTTONS}:
        try:
            flash = dbc.Alert(_act(actor, trigger, int(room)), color="success", id="usroom-flash-msg", duration=6000)
        except DomainError as exc:
            flash = dbc.Alert(exc.message, color="danger", id="usroom-flash-msg")
    svc = services()
    try:
        state = calling.room_state(svc, int(room), by=actor)
    except DomainError:
        # The room was closed (停用) or the shift ended meanwhile: say so instead of a blank page (item 4).
        return (dbc.Alert("本诊室已停用或班次已结束，请重新选择班次。", color="warning", id="usroom-closed"),
                dash.no_update, flash)
    ids = [r["exam_id"] for r in [*([state["current"]] if state["current"] else []), *state["waiting"],
                                  *state["missed"]]]
    notes = triage_board.patient_notes(svc, ids, by=actor)
    return _state(state, notes), _counts(triage_board.queue_counts(svc, by=actor)), flash


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="超声叫号 - RadOps", name="超声叫号", layout=layout)
    app.callback(Output("usroom-state", "children"), Output("usroom-counts", "children"), Output("usroom-flash",
    "children"),
              Input("usroom-room", "data"), Input("usroom-resync", "n_intervals"),
              *[Input("usroom-socket", f"data-{e}") for e in EVENTS], *[Input(i, "n_clicks") for i, _l,
              _c in BUTTONS])(usroom_refresh)
