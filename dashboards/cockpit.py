"""The department cockpit (运营驾驶舱) at /cockpit: desk mode, and big-screen mode /cockpit?mode=screen
(1920x1080, dark, no scrolling). Live: report approvals and critical-value events re-read the figures,
throttled to one recomputation per 2.5 s, plus a slow timer; tiles and bars drill down to their exams."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.permissions import Perm
from backend.web.callback_guard import staff
from backend.web.context import page_actor, socket_options
from dashboards import cockpit_view as view
from panels.shell import refusal, staff_page

ACCESS = staff(Perm.COCKPIT_VIEW)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/cockpit"
LIVE_EVENTS = listens(Audience.COCKPIT)
POLL_MS = 60_000
THROTTLE_MS = 2_500

# Last socket event time -> "cockpit-dirty"; the throttle tick turns a newer dirty mark into one refresh.
MARK_DIRTY_JS = "function() { return Date.now(); }"
THROTTLE_JS = """
function(n, dirty, kick) {
    var last = (kick && kick.at) || 0;
    if (!dirty || dirty <= last) { return window.dash_clientside.no_update; }
    return {at: Date.now()};
}"""


def _panel(fig: str, title: str, body: Any, *, span: int, screen: bool, clickable: bool = False) -> Any:
    tools = [] if screen else [
        html.A("CSV", href=f"/api/cockpit/export?panel={fig}&format=csv", className="cockpit-export",
               id=f"cockpit-csv-{fig}"),
        html.A("Excel", href=f"/api/cockpit/export?panel={fig}&format=xlsx", className="cockpit-export",
               id=f"cockpit-xlsx-{fig}")]
    head = html.Header([html.Span(title, className="cockpit-panel-title"),
                        html.Span(fig, className="cockpit-fig-id"), *tools], className="cockpit-panel-head")
    return html.Section([head, html.Div(body, className="cockpit-panel-body")],
                        className=f"cockpit-panel span-{span}" + (" clickable" if clickable else ""),
                        id=f"cockpit-panel-{fig}")


def _graph(fig: str) -> Any:
    return dcc.Graph(id=f"cockpit-graph-{fig}", config={"displayModeBar": False, "responsive": True},
                     className="cockpit-graph", style={"height": "100%"})


def body(actor: Actor, *, screen: bool) -> Any:
    """The grid of fifteen figures; contents arrive from `refresh` right after load."""
    drill = actor.can(Perm.EXAM_READ)
    tiles = [_panel(fig, title, html.Div(id=f"cockpit-tile-{fig}", n_clicks=0, className="cockpit-tile"),
                    span=2, screen=screen, clickable=drill) for fig, title in view.TILES]
    charts = [_panel(fig, title, _graph(fig), span=span, screen=screen, clickable=drill)
              for fig, title, span in view.CHARTS]
    waits = _panel("CP-15", "候检超时患者", html.Div(id="cockpit-waits", n_clicks=0, className="cockpit-waits"),
                   span=3, screen=screen, clickable=drill)
    mode = "screen" if screen else "desk"
    switch = html.A("桌面模式" if screen else "大屏模式", href=PATH if screen else f"{PATH}?mode=screen",
                    className="cockpit-switch", id="cockpit-switch")
    return html.Div([
        html.Div([html.H1("放射科运营驾驶舱", className="cockpit-title"),
                  html.Span(id="cockpit-asof", className="cockpit-asof"),
                  html.Span(id="cockpit-live", className="cockpit-live"), switch], className="cockpit-header"),
        html.Div([*tiles, *charts[:4], waits, *charts[4:]], className="cockpit-grid", id="cockpit-grid"),
        dcc.Store(id="cockpit-mode", data={"mode": mode, "drill": drill}),
        dcc.Store(id="cockpit-dirty"), dcc.Store(id="cockpit-kick"),
        dcc.Interval(id="cockpit-poll", interval=POLL_MS),
        dcc.Interval(id="cockpit-throttle", interval=THROTTLE_MS),
        DashSocketIO(id="cockpit-socket", eventNames=LIVE_EVENTS, options=socket_options({"dashboard": "1"})),
        dbc.Modal([dbc.ModalHeader(dbc.ModalTitle(id="cockpit-drill-title")),
                   dbc.ModalBody(id="cockpit-drill-body")], id="cockpit-drill-modal", size="xl", scrollable=True),
    ], className=f"cockpit cockpit-{mode}", id="cockpit-root")


def layout(mode: str | None = None, **_query: Any) -> Any:
    if mode != "screen":
        return staff_page(Perm.COCKPIT_VIEW, PATH, lambda actor: body(actor, screen=False))
    actor = page_actor()
    if actor is None:
        return refusal("请先登录", "登录已过期或尚未登录。", login=True)
    if not actor.can(Perm.COCKPIT_VIEW):
        return refusal("没有权限", "您的角色无权查看驾驶舱。")
    return body(actor, screen=True)


def register(app: dash.Dash) -> None:
    """Register the page and bind its callbacks to the current app."""
    dash.register_page(__name__, path=PATH, title="运营驾驶舱 - RadOps", name="运营驾驶舱", layout=layout)
    app.clientside_callback(MARK_DIRTY_JS, Output("cockpit-dirty", "data"),
                            [Input("cockpit-socket", f"data-{e}") for e in LIVE_EVENTS], prevent_initial_call=True)
    app.clientside_callback(THROTTLE_JS, Output("cockpit-kick", "data"), Input("cockpit-throttle", "n_intervals"),
                            State("cockpit-dirty", "data"), State("cockpit-kick", "data"))
    app.callback(
        [Output(f"cockpit-tile-{fig}", "children") for fig, _ in view.TILES]
        + [Output(f"cockpit-graph-{fig}", "figure") for fig, _, _ in view.CHARTS]
        + [Output("cockpit-waits", "children"), Output("cockpit-asof", "children")],
        Input("cockpit-kick", "data"), Input("cockpit-poll", "n_intervals"), Input("cockpit-socket", "connected"),
        State("cockpit-mode", "data"),
    )(view.refresh)
    app.callback(
        Output("cockpit-drill-modal", "is_open"), Output("cockpit-drill-title", "children"),
        Output("cockpit-drill-body", "children"),
        [Input(f"cockpit-tile-{fig}", "n_clicks") for fig, _ in view.TILES]
        + [Input(f"cockpit-graph-{fig}", "clickData") for fig, _, _ in view.CHARTS]
        + [Input("cockpit-waits", "n_clicks")],
        State("cockpit-mode", "data"), prevent_initial_call=True,
    )(view.drill)
