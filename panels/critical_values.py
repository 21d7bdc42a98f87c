"""Critical values (危急值登记): open ones with minutes since raised and the time limit; record the
notification (to whom, how, read-back) and the acknowledgement."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html

from backend.domain.actor import Actor
from backend.domain.critical_flow import NOTIFY_CHANNELS, awaiting_notice
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services import settings_store
from backend.services.reporting import critical_values
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.shell import staff_page

ACCESS = staff(Perm.CRITICAL_MANAGE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/critical"


def _timing(c: dict[str, Any]) -> Any:
    if awaiting_notice(c["status"]):
        color = "success" if c["within_limit"] else "danger"
        text = f"已 {c['minutes_since_raised']} 分钟未通知" + ("" if c["within_limit"] else "（已超时）")
    else:
        color = "success" if c["within_limit"] else "danger"
        text = f"{c['minutes_to_notify']:g} 分钟内通知" + ("（时限内）" if c["within_limit"] else "（超时）")
    return dbc.Badge(text, color=color, className="crit-timing")


def _table(items: list[dict[str, Any]]) -> Any:
    if not items:
        return html.Div("暂无未闭环的危急值", className="text-muted p-3", id="crit-table")
    head = html.Thead(html.Tr([html.Th(h) for h in ("上报时间", "检查号", "患者", "申请科室", "危急值", "上报人",
                                                    "状态", "时限", "通知记录")]))
    rows = [html.Tr([
        html.Td(c["raised_local"]), html.Td(html.A(c["accession"], href=f"/panels/reports/{c['accession']}")),
        html.Td(c["patient_name"]), html.Td(c["ordering_department"]),
        html.Td([c["finding"], html.Span(f"（{c['urgency_label']}）", className="text-danger small")]),
        html.Td(c["raised_by"]), html.Td(c["status_label"]), html.Td(_timing(c)),
        html.Td(f"{c['notified_local']} {c['notified_via_label']}通知 {c['notified_to']}，"
                f"{'已复述确认' if c['read_back'] else '未复述'}（{c['notified_by']}）" if c["notified_at"] else ""),
    ], className="table-danger" if awaiting_notice(c["status"]) and not c["within_limit"] else "")
        for c in items]
    return dbc.Table([head, html.Tbody(rows)], hover=True, size="sm", className="table-exams bg-white", id="crit-table")


def _options(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": f"{c['accession']} {c['patient_name']} {c['finding'][:20]}（{c['status_label']}）",
             "value": c["id"]} for c in items]


def _form(items: list[dict[str, Any]], pick: int | None) -> Any:
    return dbc.Card(dbc.CardBody([
        dbc.Row([
            dbc.Col([dbc.Label("危急值"), dcc.Dropdown(id="crit-pick", placeholder="选择危急值",
                                                           options=_options(items), value=pick)], md=4),
            dbc.Col([dbc.Label("接收人（临床医师/护士）"), dbc.Input(id="crit-to", maxLength=64)], md=3),
            dbc.Col([dbc.Label("通知方式"), dbc.Select(id="crit-via", value="phone", options=[
                {"label": v, "value": k} for k, v in NOTIFY_CHANNELS.items()])], md=2),
            dbc.Col([dbc.Label(" "), dbc.Checkbox(id="crit-readback", label="接收人已复述确认", value=False)], md=3),
        ], className="g-2 mb-2"),
        dbc.Button("登记通知", id="crit-notify", color="danger", n_clicks=0, className="me-2"),
        dbc.Button("临床已确认（闭环）", id="crit-ack", color="success", n_clicks=0),
    ]), className="mb-3")


def _body(actor: Actor, pick: int | None) -> Any:
    items = critical_values.open_values(services(), by=actor)
    limit = settings_store.get(services(), "critical.notify_limit_min")
    return html.Div([
        html.Div([html.H4("危急值", className="mb-0 me-3"),
                  html.Span(f"未闭环的危急值；须在上报后 {limit} 分钟内通知临床，并由接收人复述确认。",
                            className="small text-muted", id="crit-rule")],
                 className="d-flex align-items-baseline mb-3"),
        _form(items, pick),
        html.Div(id="crit-msg"),
        html.Div(_table(items), id="crit-list"),
        dcc.Interval(id="crit-refresh", interval=30_000),
    ])


def layout(id: str | None = None, **_query: Any) -> Any:
    pick = int(id) if id and id.isdigit() else None
    return staff_page(Perm.CRITICAL_MANAGE, PATH, lambda actor: _body(actor, pick))


def _act(trigger: str, actor: Actor, pick: int, to: str | None, via: str | None, read_back: bool) -> str:
    if trigger == "crit-notify":
        cv = critical_values.notify(services(), pick, to=to or "", via=via or "phone", read_back=read_back, by=actor)
        timing = "在时限内" if cv["within_limit"] else "已超出时限"
        return (f"已登记通知：{cv['notified_to']}（{cv['notified_via_label']}），"
                f"用时 {cv['minutes_to_notify']:g} 分钟，{timing}")
    critical_values.acknowledge(services(), pick, by=actor)
    return "危急值已闭环"


def _update(_n: Any, _a: Any, _i: Any, pick: int | None, to: str | None, via: str | None, rb: bool) -> tuple[Any, ...]:
    """Record a notification or an acknowledgement, then redraw the open list."""
    actor = page_actor()
    if actor is None or not actor.can(Perm.CRITICAL_MANAGE):
        return dash.no_update, dash.no_update, dash.no_update
    msg: Any = dash.no_update
    if ctx.triggered_id in ("crit-notify", "crit-ack") and ctx.triggered[0]["value"]:
        if pick is None:
            msg = dbc.Alert("请先选择危急值", color="warning", id="crit-flash")
        else:
            try:
                msg = dbc.Alert(_act(str(ctx.triggered_id), actor, int(pick), to, via, bool(rb)), color="success",
                                id="crit-flash")
            except DomainError as exc:
                msg = dbc.Alert(exc.message, color="danger", id="crit-flash")
    items = critical_values.open_values(services(), by=actor)
    return msg, _table(items), _options(items)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="危急值 - RadOps", name="危急值", layout=layout)
    app.callback(Output("crit-msg", "children"), Output("crit-list", "children"), Output("crit-pick", "options"),
                   Input("crit-notify", "n_clicks"), Input("crit-ack", "n_clicks"), Input("crit-refresh",
                   "n_intervals"),
                   State("crit-pick", "value"), State("crit-to", "value"), State("crit-via", "value"),
                   State("crit-readback", "value"))(_update)
