"""The department cockpit (运营驾驶舱) at /cockpit: desk mode, and big-screen mode /cockpit?mode=screen
(1920x1080, dark, no scrolling). Live: report approvals and critical-value events re-read the figures,
throttled to one recomputation per 2.5 s, plus a slow timer; tiles and bars drill down to their exams."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.metrics import DEFAULT_SCOPE
from backend.domain.permissions import Perm
from backend.services.cockpit import board
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services, socket_options
from dashboards import cockpit_view as view
from panels.shell import refusal, staff_page

ACCESS = staff(Perm.COCKPIT_VIEW)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/cockpit"
LIVE_EVENTS = listens(Audience.COCKPIT)
POLL_MS = 60_000
THROTTLE_MS = 2_500
WATCH_MS = 2_000

# Last socket event time -> "cockpit-dirty"; the throttle tick turns a newer dirty mark into one refresh.
MARK_DIRTY_JS = "function() { return Date.now(); }"
THROTTLE_JS = """
function(n, dirty, kick) {
    var last = (kick && kick.at) || 0;
    if (!dirty || dirty <= last) { return window.dash_clientside.no_update; }
    return {at: Date.now()};
}"""


# Wall screen: which banner to show (已断开 / 数据已过期) from the socket state and the last good refresh.
STALE_JS = """
function(n, connected, fresh, mode) {
    var state = window.radopsCockpit || (window.radopsCockpit = {seq: -1, seen: Date.now()});
    fresh = fresh || {};
    if (fresh.seq !== state.seq) { state.seq = fresh.seq; state.seen = Date.now(); }
    var period = (mode && mode.poll_ms) || 60000;
    var login = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    if (fresh.auth === false || window.radopsAuthLost) {  // assets/auth_watch.js: a callback got 401
        return [{text: "已断开：登录已结束，数据不再更新", login: login}, "cockpit-banner show expired"];
    }
    var age = Date.now() - state.seen;
    if (age > 2 * period) {
        var min = Math.floor(age / 60000), sec = Math.floor(age / 1000) % 60;
        var text = "数据已过期：已 " + (min ? min + " 分 " : "") + sec + " 秒未更新" +
            (connected === false ? "（实时连接已断开，正在重连）" : "");
        return [{text: text, login: login}, "cockpit-banner show stale"];
    }
    if (connected === false) {
        return [{text: "实时连接已断开，正在重连…", login: ""}, "cockpit-banner show warn"];
    }
    return [{text: "", login: ""}, "cockpit-banner"];
}"""
BANNER_JS = """
function(b) {
    b = b || {};
    return [b.text || "", b.login || "#", b.login ? "cockpit-relogin" : "cockpit-relogin d-none"];
}"""


def _panel(fig: str, title: str, body: Any, *, span: int, screen: bool, clickable: bool = False,
           reading: str = "") -> Any:
    """One panel: title (with the figure's badge on the desk only), then a line with the reading it shows,
    and on the desk its definition (one click) and exports."""
    head = html.Header([html.Span(title, className="cockpit-panel-title", title=title),
                        *([] if screen else [html.Span(fig, className="cockpit-fig-id")])],
                       className="cockpit-panel-head")
    tools = [] if screen else [
        html.Details([html.Summary("定义", className="cockpit-def-toggle", id=f"cockpit-def-{fig}"),
                      html.Div(view.DEFINITIONS[fig], className="cockpit-def-text")], className="cockpit-def"),
        html.A("CSV", href=f"/api/cockpit/export?panel={fig}&format=csv", className="cockpit-export",
               id=f"cockpit-csv-{fig}"),
        html.A("Excel", href=f"/api/cockpit/export?panel={fig}&format=xlsx", className="cockpit-export",
               id=f"cockpit-xlsx-{fig}")]
    line = html.Div([html.Span(reading, className="cockpit-reading", id=f"cockpit-reading-{fig}", title=reading),
                     *tools], className="cockpit-panel-line")
    return html.Section([head, line, html.Div(body, className="cockpit-panel-body")],
                        className=f"cockpit-panel span-{span}" + (" clickable" if clickable else ""),
                        id=f"cockpit-panel-{fig}")


def _graph(fig: str) -> Any:
    return dcc.Graph(id=f"cockpit-graph-{fig}", config={"displayModeBar": False, "responsive": True},
                     className="cockpit-graph", style={"height": "100%"})


def _reading(info: dict[str, Any], fig: str) -> str:
    return "；".join(info["readings"][r] for r in view.READS.get(fig, ()))


def body(actor: Actor, *, screen: bool, info: dict[str, Any] | None = None, poll_ms: int = POLL_MS) -> Any:
    """The grid of fifteen figures; contents arrive from `refresh` right after load."""
    info = info or board.describe(services(), by=actor)
    drill = actor.can(Perm.EXAM_READ)
    tiles = [_panel(fig, title, html.Div(id=f"cockpit-tile-{fig}", n_clicks=0, className="cockpit-tile"),
                    span=2, screen=screen, clickable=drill, reading=_reading(info, fig)) for fig, title in view.TILES]
    charts = [_panel(fig, title, _graph(fig), span=span, screen=screen, clickable=drill, reading=_reading(info, fig))
              for fig, title, span in view.CHARTS]
    waits = _panel("CP-15", "候检超时患者", html.Div(id="cockpit-waits", n_clicks=0, className="cockpit-waits"),
                   span=3, screen=screen, clickable=drill)
    mode = "screen" if screen else "desk"
    scope = info["scope"]
    query = "" if scope == DEFAULT_SCOPE else f"scope={scope}"
    switch = html.A("桌面模式" if screen else "大屏模式",
                    href=f"{PATH}?{query}" if screen else f"{PATH}?mode=screen" + (f"&{query}" if query else ""),
                    className="cockpit-switch", id="cockpit-switch")
    scopes = [] if screen else [
        html.A(label, href=PATH + ("" if key == DEFAULT_SCOPE else f"?scope={key}"),
               className="cockpit-scope" + (" active" if key == scope else ""), id=f"cockpit-scope-{key}")
        for key, label in info["scopes"].items()]
    today = services().clock().astimezone(services().tz).date().replace(day=1)
    last = (today - timedelta(days=1)).replace(day=1)
    reports = [] if screen else [
        html.A(f"{m.month}月月报（PDF）", id=f"cockpit-monthly-{i}", className="cockpit-scope",
               href=f"/api/cockpit/monthly.pdf?month={m:%Y-%m}&scope={scope}") for i, m in enumerate((last, today))]
    banner = html.Div([html.Span(id="cockpit-banner-text"),
                       html.A("重新登录", id="cockpit-relogin", href="#", className="cockpit-relogin d-none")],
                      id="cockpit-banner", className="cockpit-banner")
    footer = dbc.ModalFooter([
        html.Span(id="cockpit-drill-page", className="me-auto text-muted small"),
        html.A("导出CSV（全部）", id="cockpit-drill-csv", href="#", className="btn btn-outline-secondary btn-sm"),
        html.A("导出Excel（全部）", id="cockpit-drill-xlsx", href="#", className="btn btn-outline-secondary btn-sm"),
        dbc.Button("首页", id="cockpit-drill-first", n_clicks=0, size="sm", color="secondary", disabled=True),
        dbc.Button("下一页", id="cockpit-drill-next", n_clicks=0, size="sm", color="primary", disabled=True)])
    return html.Div([
        html.Div([html.H1(f"{info['scope_label']}运营驾驶舱", className="cockpit-title"),
                  html.Span(id="cockpit-asof", className="cockpit-asof"),
                  html.Span(id="cockpit-live", className="cockpit-live"), *scopes, *reports, switch],
                 className="cockpit-header"),
        banner,
        html.Div([*tiles, *charts[:4], waits, *charts[4:]], className="cockpit-grid", id="cockpit-grid"),
        dcc.Store(id="cockpit-mode", data={"mode": mode, "drill": drill, "scope": scope, "poll_ms": poll_ms}),
        dcc.Store(id="cockpit-dirty"), dcc.Store(id="cockpit-kick"), dcc.Store(id="cockpit-fresh", data={"seq": 0}),
        dcc.Store(id="cockpit-banner-data"), dcc.Store(id="cockpit-drill-state"),
        dcc.Interval(id="cockpit-poll", interval=poll_ms),
        dcc.Interval(id="cockpit-throttle", interval=THROTTLE_MS),
        dcc.Interval(id="cockpit-watch", interval=WATCH_MS),
        DashSocketIO(id="cockpit-socket", eventNames=LIVE_EVENTS, options=socket_options({"dashboard": "1"})),
        dbc.Modal([dbc.ModalHeader(dbc.ModalTitle(id="cockpit-drill-title")),
                   dbc.ModalBody(id="cockpit-drill-body"), footer],
                  id="cockpit-drill-modal", size="xl", scrollable=True),
    ], className=f"cockpit cockpit-{mode}", id="cockpit-root")


def _poll_ms(refresh: str | None) -> int:
    """A wall screen may refresh more often than the default (`?refresh=` seconds, 5 to 600)."""
    try:
        return max(5, min(600, int(refresh or 0))) * 1000 if refresh else POLL_MS
    except ValueError:
        return POLL_MS


def layout(mode: str | None = None, scope: str | None = None, refresh: str | None = None, **_query: Any) -> Any:
    def page(actor: Actor, *, screen: bool) -> Any:
        try:
            info = board.describe(services(), by=actor, scope=scope or DEFAULT_SCOPE)
        except DomainError as exc:
            return refusal("无法打开驾驶舱", exc.message)
        return body(actor, screen=screen, info=info, poll_ms=_poll_ms(refresh))

    if mode != "screen":
        return staff_page(Perm.COCKPIT_VIEW, PATH, lambda actor: page(actor, screen=False), er_banner=True)
    actor = page_actor()
    if actor is None:
        return refusal("请先登录", "登录已过期或尚未登录。", login=True)
    if not actor.can(Perm.COCKPIT_VIEW):
        return refusal("没有权限", "您的角色无权查看驾驶舱。")
    return page(actor, screen=True)


def register(app: dash.Dash) -> None:
    """Register the page and bind its callbacks to the current app."""
    dash.register_page(__name__, path=PATH, title="运营驾驶舱 - RadOps", name="运营驾驶舱", layout=layout)
    app.clientside_callback(MARK_DIRTY_JS, Output("cockpit-dirty", "data"),
                            [Input("cockpit-socket", f"data-{e}") for e in LIVE_EVENTS], prevent_initial_call=True)
    app.clientside_callback(THROTTLE_JS, Output("cockpit-kick", "data"), Input("cockpit-throttle", "n_intervals"),
                            State("cockpit-dirty", "data"), State("cockpit-kick", "data"))
    app.clientside_callback(STALE_JS, Output("cockpit-banner-data", "data"), Output("cockpit-banner", "className"),
                            Input("cockpit-watch", "n_intervals"), Input("cockpit-socket", "connected"),
                            Input("cockpit-fresh", "data"), State("cockpit-mode", "data"))
    app.clientside_callback(BANNER_JS, Output("cockpit-banner-text", "children"), Output("cockpit-relogin", "href"),
                            Output("cockpit-relogin", "className"), Input("cockpit-banner-data", "data"))
    app.callback(
        [Output(f"cockpit-tile-{fig}", "children") for fig, _ in view.TILES]
        + [Output(f"cockpit-graph-{fig}", "figure") for fig, _, _ in view.CHARTS]
        + [Output("cockpit-waits", "children"), Output("cockpit-asof", "children"),
           Output("cockpit-fresh", "data")],
        Input("cockpit-kick", "data"), Input("cockpit-poll", "n_intervals"), Input("cockpit-socket", "connected"),
        State("cockpit-mode", "data"), State("cockpit-fresh", "data"),
    )(view.refresh)
    app.callback(
        Output("cockpit-drill-modal", "is_open"), Output("cockpit-drill-title", "children"),
        Output("cockpit-drill-body", "children"), Output("cockpit-drill-page", "children"),
        Output("cockpit-drill-next", "disabled"), Output("cockpit-drill-first", "disabled"),
        Output("cockpit-drill-csv", "href"), Output("cockpit-drill-xlsx", "href"),
        Output("cockpit-drill-state", "data"),
        [Input(f"cockpit-tile-{fig}", "n_clicks") for fig, _ in view.TILES]
        + [Input(f"cockpit-graph-{fig}", "clickData") for fig, _, _ in view.CHARTS]
        + [Input("cockpit-waits", "n_clicks"), Input("cockpit-drill-next", "n_clicks"),
           Input("cockpit-drill-first", "n_clicks")],
        State("cockpit-mode", "data"), State("cockpit-drill-state", "data"), prevent_initial_call=True,
    )(view.drill)
