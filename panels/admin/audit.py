"""Admin page /admin/audit: the audit trail, filtered by entity, entity id, actor and date."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.admin import system
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import current_actor, error_alert
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/audit"
ENTITIES = [("user", "用户"), ("api_key", "API 密钥"), ("exam_item", "检查项目"), ("room", "检查室"),
            ("queue", "队列"), ("slot", "号源"), ("setting", "运行参数"), ("exam", "检查"), ("patient", "患者")]
ACTIONS = {"create": "新建", "update": "修改", "delete": "删除", "deactivate": "停用", "activate": "启用",
           "revoke": "吊销", "login": "登录", "login_failed": "登录失败", "generate_slots": "生成号源",
           "set_capacity": "修改容量", "read": "查看"}


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("日期格式应为 年-月-日", code="invalid_date") from exc


def entries_table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return dbc.Alert("没有符合条件的记录", color="info", id="audit-empty")
    labels = dict(ENTITIES)
    head = html.Thead(html.Tr([html.Th(h) for h in ("时间", "操作人", "操作", "对象", "对象编号", "IP", "详情")]))
    body = html.Tbody([html.Tr([
        html.Td(r["at_local"]), html.Td(r["actor"]), html.Td(ACTIONS.get(r["action"], r["action"])),
        html.Td(labels.get(r["entity"], r["entity"])), html.Td(r["entity_id"]), html.Td(r["ip"]),
        html.Td(html.Code(json.dumps(r["details"], ensure_ascii=False)[:200]) if r["details"] else ""),
    ]) for r in rows])
    return dbc.Table([head, body], size="sm", striped=True, hover=True, id="audit-rows", className="bg-white small")


def search(entity: str | None, entity_id: str | None, actor: str | None, day_from: str | None,
           day_to: str | None) -> Any:
    """Run the filtered search and draw the table (errors in Chinese above it)."""
    try:
        kind = None if entity in {None, "", "all"} else entity
        rows = system.search_audit(services(), by=current_actor(), entity=kind,
                                         entity_id=(entity_id or "").strip() or None,
                                         actor=(actor or "").strip() or None, day_from=_date(day_from),
                                         day_to=_date(day_to), limit=500)
    except DomainError as exc:
        return error_alert(exc, "audit-error")
    return entries_table(rows)


def body(actor: Any) -> Any:
    def col(label: str, control: Any, md: int) -> Any:
        return dbc.Col([dbc.Label(label, className="small mb-0"), control], md=md)

    filters = dbc.Card(dbc.CardBody(dbc.Row([
        col("对象", dbc.Select(id="audit-entity", options=[{"label": "全部", "value": "all"}] + [
            {"label": v, "value": k} for k, v in ENTITIES], value="all", size="sm"), 2),
        col("对象编号", dbc.Input(id="audit-entity-id", size="sm"), 2),
        col("操作人", dbc.Input(id="audit-actor", size="sm", placeholder="如 user:1"), 2),
        col("开始日期", dbc.Input(id="audit-from", type="date", size="sm"), 2),
        col("结束日期", dbc.Input(id="audit-to", type="date", size="sm"), 2),
        dbc.Col(dbc.Button("查询", id="audit-search", color="primary", size="sm"), md=2),
    ], align="end")), className="shadow-sm mb-3")
    return html.Div([filters, html.Div(search(None, None, None, None, None), id="audit-results")])


def _callbacks(app: Any) -> None:
    app.callback(Output("audit-results", "children"), Input("audit-search", "n_clicks"),
                 State("audit-entity", "value"), State("audit-entity-id", "value"), State("audit-actor", "value"),
                 State("audit-from", "value"), State("audit-to", "value"),
                 prevent_initial_call=True)(lambda _n, *a: search(*a))


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "审计日志", body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "审计日志", layout, _callbacks)
