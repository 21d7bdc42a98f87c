"""The public hall screen (候诊大屏) at /screens/<id or code>: drawn from its layout file, live over
Socket.IO, re-synced from the database on every ticket event, on reconnect and every 30 s (QS-1..3)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import dash
import dash_socketio
from dash import ALL, Input, Output, State, ctx, dcc, html

from backend.domain.catalog import Audience, EventName, listens
from backend.domain.errors import DomainError, Unauthenticated
from backend.domain.permissions import Perm
from backend.services.patient_flow import screens
from backend.web import enrolment
from backend.web.callback_guard import device
from backend.web.context import device_actor, page_actor, services, socket_options
from signage import hall_blocks as blocks

ACCESS = device("screen", or_staff=Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

logger = logging.getLogger(__name__)

PATH_TEMPLATE = "/screens/<screen_id>"
TICKET_EVENTS = listens(Audience.HALL_SCREEN)
RESYNC_MS = 30_000
RECALLED = EventName.TICKET_RECALLED.value


def _block(i: int, block: Any, layout: Any, info: dict[str, Any]) -> Any:
    m = blocks.block_metrics(layout, block)
    style = blocks.place(block)
    if block.type == "title_clock":
        return html.Section([
            html.Div([html.Div(m["title"] or "放射科候诊叫号", className="hall-title"),
                      html.Div(f"{info['campus_name']} · {info['name']}", className="hall-subtitle")]),
            html.Div([html.Div(id="hall-clock", className="hall-clock"),
                      html.Div(id="hall-date", className="hall-date")], className="hall-clock-box"),
        ], className="hall-block hall-title_clock", style=style, id=f"hall-block-{i}")
    header = [] if block.type == "ticker" else [html.Header(blocks.TITLES[block.type], className="hall-block-title")]
    return html.Section([*header, html.Div(id={"type": "hall-body", "index": i}, className="hall-body")],
                        className=f"hall-block hall-{block.type}", style=style, id=f"hall-block-{i}",
                        **{"data-block": block.type})


def layout(screen_id: str | None = None, **_query: Any) -> Any:
    """The screen's grid of blocks; their contents arrive from `refresh` right after load."""
    try:
        info, lay = screens.screen_view(services(), screen_id or "")
    except DomainError as exc:
        return html.Div(html.Div([html.H1("大屏未配置"), html.P(exc.message)], className="hall-error"),
                        className="hall-screen", id="hall-screen")
    if (not_enrolled := enrolment.gate("screen", info["code"], path=f"/screens/{info['code']}",
                                       preview=Perm.ADMIN)) is not None:
        return not_enrolled  # which screen shows which campus is the enrolled device's, not anyone's choice
    # The clock shows site time (settings), whatever zone the screen's computer is set to.
    meta = {"screen_id": info["id"], "tz": services().settings.site_timezone,
            "blocks": {str(i): blocks.block_metrics(lay, b) for i, b in enumerate(lay.blocks)}}
    query = {"campus": str(info["campus_id"]), "screen": str(info["id"])}
    return html.Div([
        html.Div([_block(i, b, lay, info) for i, b in enumerate(lay.blocks)], className="hall-grid",
                 style=blocks.grid_style(lay), id="hall-grid"),
        *([] if lay.block("title_clock") else [html.Div([html.Div(id="hall-clock"), html.Div(id="hall-date")],
                                                       className="hall-hidden")]),
        dcc.Store(id="hall-meta", data=meta),
        dcc.Store(id="hall-voice"),
        html.Div(id="hall-voice-log", className="hall-hidden"),
        dcc.Interval(id="hall-resync", interval=RESYNC_MS),
        dcc.Interval(id="hall-tick", interval=1000),
        dash_socketio.DashSocketIO(id="hall-socket", eventNames=TICKET_EVENTS, options=socket_options(query)),
    ], className="hall-screen", id="hall-screen", **{"data-layout": lay.file, "data-masked": str(info["masked"])})


def _screen_id(meta: dict[str, Any]) -> int:
    """The enrolled screen calling, never the page's state; only an admin's preview names its screen."""
    dev = device_actor()
    if dev is not None and dev.kind == "screen" and dev.id is not None:
        return int(dev.id)
    who = page_actor()
    if dev is None and who is not None and who.can(Perm.ADMIN):
        return int(meta["screen_id"])
    raise Unauthenticated("本设备未启用", code="device_not_enrolled")


def refresh(*args: Any) -> Any:
    """Re-read the whole screen from the database (any ticket event, reconnect, or the slow timer)."""
    meta = args[-1]
    outputs = ctx.outputs_list
    try:
        state = screens.screen_state(services(), _screen_id(meta))
    except DomainError:
        return [[html.Div("大屏已停用", className="hall-empty")] for _ in outputs]
    out = []
    for spec in outputs:
        m = meta["blocks"][str(spec["id"]["index"])]
        out.append(blocks.body(m["type"], state, m))
    return out


def announce(called: Any, recalled: Any, meta: dict[str, Any]) -> Any:
    """What to say for the call that just arrived (masked name); nothing for another campus' queue."""
    payload = recalled if ctx.triggered_id and RECALLED in str(ctx.triggered[0]["prop_id"]) else called
    if not isinstance(payload, dict) or "ticket_id" not in payload:
        return dash.no_update
    try:
        said = screens.announcement(services(), _screen_id(meta), int(payload["ticket_id"]))
    except DomainError:
        return dash.no_update
    if not said:
        return dash.no_update
    # A fresh nonce: saying the same words again (a recall) must still change the store and speak.
    return {**said, "nonce": uuid.uuid4().hex}


# The browser speaks each call in Mandarin, N times; the log keeps the last lines for tests and staff.
SPEAK_JS = """
    function(said) {
        if (!said) { return window.dash_clientside.no_update; }
        window.radopsSpoken = (window.radopsSpoken || []).concat([said.text]);
        if (window.speechSynthesis && window.SpeechSynthesisUtterance) {
            for (var i = 0; i < (said.repeat || 1); i++) {
                var u = new SpeechSynthesisUtterance(said.speech || said.text);
                u.lang = "zh-CN"; u.rate = 0.85;
                window.speechSynthesis.speak(u);
            }
        }
        return said.text + " ×" + (said.repeat || 1);
    }
"""

# The clock runs in the browser so that it ticks without server round trips, in the site's zone.
CLOCK_JS = """
    function(n, meta) {
        var d = new Date();
        var opts = {timeZone: (meta && meta.tz) || undefined};
        var time = d.toLocaleTimeString("zh-CN", Object.assign({hour12: false}, opts));
        var day = d.toLocaleDateString("zh-CN", Object.assign({year: "numeric", month: "long", day: "numeric",
                                                               weekday: "long"}, opts));
        return [time, day];
    }
"""


def register(app: dash.Dash) -> None:
    """Register the page and bind its callbacks to the current app (not the global list: see admin_nav)."""
    dash.register_page(__name__, path_template=PATH_TEMPLATE, title="候诊大屏 - RadOps", name="候诊大屏",
                       layout=layout)
    app.callback(
        Output({"type": "hall-body", "index": ALL}, "children"),
        [Input("hall-socket", f"data-{name}") for name in TICKET_EVENTS],
        Input("hall-socket", "connected"),
        Input("hall-resync", "n_intervals"),
        State("hall-meta", "data"),
    )(refresh)
    app.callback(
        Output("hall-voice", "data"),
        Input("hall-socket", f"data-{EventName.TICKET_CALLED}"),
        Input("hall-socket", f"data-{RECALLED}"),
        State("hall-meta", "data"),
        prevent_initial_call=True,
    )(announce)
    app.clientside_callback(SPEAK_JS, Output("hall-voice-log", "children"), Input("hall-voice", "data"))
    app.clientside_callback(CLOCK_JS, Output("hall-clock", "children"), Output("hall-date", "children"),
                            Input("hall-tick", "n_intervals"), State("hall-meta", "data"))
