"""Admin page /admin/data-api: the low-code data API's keys, their datasets, last call and calls per day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from backend.domain.data_datasets import DATASETS
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.data_api import usage
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import current_actor, error_alert
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/data-api"
TITLE = "数据接口"
PERIODS = [{"label": "近7天", "value": 7}, {"label": "近14天", "value": 14}, {"label": "近30天", "value": 30}]
add_admin_link(PATH, TITLE)


def _local(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone(services().tz).strftime("%Y-%m-%d %H:%M") if value else "从未调用"


def _last_call(k: dict[str, Any]) -> Any:
    if not k["last_at"]:
        return html.Span("从未调用", className="text-muted")
    label = DATASETS[k["last_dataset"]].label if k["last_dataset"] in DATASETS else k["last_dataset"]
    ok = (k["last_status"] or 0) < 400
    return html.Span([_local(k["last_at"]), html.Br(), html.Small(f"{label} · ", className="text-muted"),
                      dbc.Badge(str(k["last_status"]), color="success" if ok else "danger", className="ms-1")])


def _day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.month}/{d.day}"


def keys_table(view: dict[str, Any]) -> Any:
    if not view["keys"]:
        return dbc.Alert("还没有带数据接口权限范围的 API 密钥。请在“API 密钥”页新建，并勾选“数据接口：读取……”。",
                         color="info", id="dataapi-empty")
    head = html.Thead(html.Tr([html.Th(h) for h in ("名称", "前缀", "可读数据集", "个人信息", "最近调用")]
                              + [html.Th(_day(d), className="text-end") for d in view["days"]]
                              + [html.Th("合计", className="text-end"), html.Th("失败", className="text-end"),
                                 html.Th("状态")]))
    rows = []
    for k in view["keys"]:
        rows.append(html.Tr([
            html.Td(k["name"], className="fw-semibold"), html.Td(html.Code(k["prefix"])),
            html.Td(", ".join(k["dataset_labels"]) or "—", style={"maxWidth": "260px"}),
            html.Td("可见原文" if k["pii"] else "脱敏"), html.Td(_last_call(k)),
            *[html.Td(n, className="text-end" + ("" if n else " text-muted")) for n in k["calls"]],
            html.Td(k["total"], className="text-end fw-semibold"),
            html.Td(k["errors"], className="text-end" + (" text-danger" if k["errors"] else " text-muted")),
            html.Td(dbc.Badge("已吊销", color="secondary") if k["revoked"] else dbc.Badge("有效", color="success")),
        ], className="text-muted" if k["revoked"] else ""))
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, striped=True, responsive=True,
                     id="dataapi-rows", className="bg-white small mb-0 align-middle")


def chart(view: dict[str, Any]) -> Any:
    fig = go.Figure([go.Bar(name=k["name"], x=[_day(d) for d in view["days"]], y=k["calls"]) for k in view["keys"]])
    fig.update_layout(barmode="stack", height=240, margin={"l": 40, "r": 10, "t": 10, "b": 30},
                      legend={"orientation": "h", "y": -0.25}, yaxis_title="调用次数",
                      plot_bgcolor="white", paper_bgcolor="white", font={"family": "Noto Sans CJK SC, sans-serif"})
    return dcc.Graph(figure=fig, config={"displayModeBar": False}, id="dataapi-chart")


def content(days: int | None) -> Any:
    """The chart and the table for the last `days` days (errors in Chinese in their place)."""
    try:
        view = usage.overview(services(), by=current_actor(), days=int(days or 7))
    except DomainError as exc:
        return error_alert(exc, "dataapi-error")
    return html.Div([chart(view), keys_table(view)] if view["keys"] else [keys_table(view)])


def body(_actor: Any) -> Any:
    intro = dbc.Card(dbc.CardBody([
        html.P(["低代码平台通过只读数据接口 ", html.Code("/api/data/v1/<数据集>"), " 读取检查、报告、危急值、排队、"
                "超声诊室负荷、驾驶舱指标等数据；每个密钥按数据集授权（权限范围 data.read:<数据集>），"
                "未授予 data.pii 的密钥看到的姓名、身份证号、电话均已脱敏。"], className="mb-2"),
        html.Div([dbc.Button("字段字典", href="/api/data/v1/dictionary", external_link=True, target="_blank",
                             color="link", size="sm", className="ps-0", id="dataapi-dictionary"),
                  dbc.Button("接口文档（OpenAPI）", href="/api/openapi.json", external_link=True, target="_blank",
                             color="link", size="sm", id="dataapi-openapi"),
                  dbc.Button("新建或吊销密钥", href="/admin/api-keys", external_link=True, color="link", size="sm",
                             id="dataapi-keys-link")]),
    ]), className="shadow-sm mb-3")
    controls = dbc.Row([
        dbc.Col(dbc.Select(id="dataapi-days", options=PERIODS, value=7, size="sm"), width="auto"),
        dbc.Col(dbc.Button("刷新", id="dataapi-refresh", color="primary", size="sm", outline=True), width="auto"),
    ], className="g-2 mb-2")
    return html.Div([intro, dbc.Card([dbc.CardHeader("各密钥调用情况", className="fw-semibold"),
                                      dbc.CardBody([controls, html.Div(content(7), id="dataapi-content")])],
                                     className="shadow-sm")])


def _callbacks(app: Any) -> None:
    app.callback(Output("dataapi-content", "children"), Input("dataapi-refresh", "n_clicks"),
                 Input("dataapi-days", "value"), prevent_initial_call=True)(lambda _n, days: content(days))


def layout(**_query: Any) -> Any:
    return admin_page(PATH, TITLE, body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, TITLE, layout, _callbacks)
