"""The emergency-report reminder popup (急诊报告超时提醒, ER-1) that every staff page carries for doctors.

It re-reads the doctor's pending reminders on load (a doctor who connects later sees them), on every
`er_reminder` push to the doctor's Socket.IO room, and on a slow timer; a new one beeps (WebAudio, see
assets/er_reminder.js). The doctor opens the report, acknowledges, or snoozes with a reason.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.reporting import er_reminders
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services, socket_options

ACCESS = staff()  # who may call this page's callbacks (backend/web/callback_guard.py)

POLL_MS = 30_000
EVENTS = listens(Audience.ER_POPUP)
BEEP_JS = """
function(queue, heard) {
    heard = heard || [];
    var fresh = (queue || []).filter(function (r) { return heard.indexOf(r.id + ":" + r.kind) < 0; });
    if (fresh.length && window.radopsEr) { window.radopsEr.beep(); }
    return (queue || []).map(function (r) { return r.id + ":" + r.kind; }).concat(heard).slice(0, 200);
}"""


def component(actor: Actor, *, banner: bool = False) -> list[Any]:
    """The popup's parts, for doctors only (others get nothing).

    `banner`: the same reminder as a banner at the top of the page that blocks nothing (no backdrop, no
    focus trap): the department head keeps using the cockpit beneath it.
    """
    if not actor.can(Perm.REPORT_WRITE):
        return []
    footer = [
        dbc.Input(id="er-reason", placeholder="稍后提醒的原因", maxLength=500, size="sm", className="er-reason"),
        dbc.Select(id="er-minutes", options=[{"label": f"{m} 分钟后", "value": str(m)} for m in (3, 5, 10)],
                   value="5", size="sm", className="er-minutes"),
        dbc.Button("稍后提醒", id="er-snooze", color="secondary", size="sm", n_clicks=0),
        dbc.Button("已知晓", id="er-ack", color="warning", size="sm", n_clicks=0),
        dbc.Button("打开报告", id="er-open", color="danger", n_clicks=0),
    ]
    return [
        DashSocketIO(id="er-socket", eventNames=EVENTS, options=socket_options()),
        dcc.Store(id="er-queue"), dcc.Store(id="er-heard"), dcc.Store(id="er-current"),
        dcc.Interval(id="er-poll", interval=POLL_MS),
        dcc.Location(id="er-go", refresh=True),
        dbc.Alert([
            html.Div("急诊报告即将超时", className="er-banner-title"), html.Div(id="er-body"),
            html.Div([html.Div(id="er-error", className="text-danger small me-auto"), *footer],
                     className="er-banner-actions"),
        ], id="er-modal", is_open=False, color="warning", className="er-banner") if banner else
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("急诊报告即将超时"), close_button=False, className="er-head"),
            dbc.ModalBody(id="er-body"),
            dbc.ModalFooter([html.Div(id="er-error", className="text-danger small me-auto"), *footer]),
        ], id="er-modal", is_open=False, backdrop="static", keyboard=False, centered=True, size="lg",
            className="er-modal"),
    ]


def _body(r: dict[str, Any], more: int) -> Any:
    left = r["minutes_left"]
    when = f"剩余 {left} 分钟" if left >= 0 else f"已超时 {-left} 分钟"
    return html.Div([
        html.Div("已升级：报告已超时，请协调处理" if r["kind"] == "escalation" else "", className="er-escalated"),
        html.Div([html.Span("患者", className="er-label"), html.Span(r["patient"], id="er-patient")]),
        html.Div([html.Span("检查", className="er-label"),
                  html.Span(f"{r['modality']} {r['item']}（{r['accession']}）", id="er-exam")]),
        html.Div([html.Span("时限", className="er-label"), html.Span(f"{r['due_local']} 前完成报告")]),
        html.Div(when, className="er-left" + (" overdue" if left < 0 else ""), id="er-left"),
        html.Div(f"另有 {more} 条提醒" if more else "", className="er-more"),
    ], id="er-card", **{"data-reminder": str(r["id"])})


def sync(*args: Any) -> tuple[Any, Any, Any]:
    """Re-read the pending reminders, after an action by the doctor when a button was pressed."""
    actor = page_actor()
    if actor is None:
        raise PreventUpdate
    current, reason, minutes = args[-3:]
    trigger = ctx.triggered_id
    href, error = dash.no_update, ""
    if trigger in ("er-open", "er-ack", "er-snooze") and current:
        action = {"er-open": "open", "er-ack": "ack", "er-snooze": "snooze"}[trigger]
        try:
            done = er_reminders.act(services(), int(current), action, by=actor, reason=reason or "",
                                    snooze_min=int(minutes or 5))
            href = done["url"] if action == "open" else dash.no_update
        except DomainError as exc:
            error = exc.message
    return er_reminders.pending(services(), by=actor), href, error


def show(queue: list[dict[str, Any]] | None) -> tuple[bool, Any, Any]:
    """Open the popup on the most urgent reminder, or close it when none is left."""
    if not queue:
        return False, None, None
    return True, _body(queue[0], len(queue) - 1), queue[0]["id"]


def register(app: dash.Dash) -> None:
    """Bind the popup's callbacks to the current app (the shell adds the parts to every staff page)."""
    app.callback(
        Output("er-queue", "data"), Output("er-go", "href"), Output("er-error", "children"),
        Input("er-poll", "n_intervals"), *[Input("er-socket", f"data-{e}") for e in EVENTS],
        Input("er-socket", "connected"),
        Input("er-open", "n_clicks"), Input("er-ack", "n_clicks"), Input("er-snooze", "n_clicks"),
        State("er-current", "data"), State("er-reason", "value"), State("er-minutes", "value"),
    )(sync)
    app.callback(Output("er-modal", "is_open"), Output("er-body", "children"), Output("er-current", "data"),
                 Input("er-queue", "data"))(show)
    app.clientside_callback(BEEP_JS, Output("er-heard", "data"), Input("er-queue", "data"), State("er-heard", "data"))
