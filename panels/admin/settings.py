"""Admin page /admin/settings: runtime settings grouped as in the catalog, an input per kind, JSON editor."""

from __future__ import annotations

import json
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.admin import system
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import alert, current_actor, error_alert
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/settings"


def _input(s: dict[str, Any]) -> Any:
    id_ = {"type": "settings-input", "key": s["key"]}
    if s["kind"] == "int":
        return dbc.Input(id=id_, type="number", value=s["value"], min=s["minimum"], max=s["maximum"], step=1,
                         size="sm", style={"maxWidth": "160px"})
    if s["kind"] == "bool":
        return dbc.Switch(id=id_, value=bool(s["value"]), label="开启")
    if s["kind"] == "json":
        return dbc.Textarea(id=id_, value=json.dumps(s["value"], ensure_ascii=False, indent=2), rows=10,
                            className="font-monospace small", spellCheck=False)
    return dbc.Input(id=id_, value=s["value"], size="sm")


def _row(s: dict[str, Any]) -> Any:
    rng = f"（范围 {s['minimum']}–{s['maximum']}）" if s["kind"] == "int" and s["minimum"] is not None else ""
    when = f"上次修改：{s['updated_at'][:16].replace('T', ' ')} UTC" if s["updated_at"] else "使用默认值"
    return dbc.ListGroupItem(dbc.Row([
        dbc.Col([html.Div(s["label"] + rng, className="fw-semibold small"),
                 html.Div([html.Code(s["key"]), f" · {when}"], className="text-muted small")], md=4),
        dbc.Col([_input(s), html.Div(id={"type": "settings-msg", "key": s["key"]}, className="mt-2 small")], md=6),
        dbc.Col(dbc.Button("保存", id={"type": "settings-save", "key": s["key"]}, color="primary", size="sm"), md=2),
    ], align="start"), id=f"settings-row-{s['key'].replace('.', '-')}")


def body(actor: Any) -> Any:
    groups = system.settings_by_group(services(), by=actor)
    return html.Div([dbc.Card([dbc.CardHeader(group, className="fw-semibold"),
                               dbc.ListGroup([_row(s) for s in rows], flush=True)], className="shadow-sm mb-3")
                     for group, rows in groups.items()], id="settings-groups")


def save(key: str, value: Any) -> Any:
    """Validate and store one setting; the message (and the input, kept as typed) stays beside it."""
    try:
        if isinstance(value, str) and _kind(key) == "json":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                where = f"第 {exc.lineno} 行第 {exc.colno} 列"
                raise InvalidInput(f"JSON 格式错误：{where}", code="malformed_json") from exc
        if value is None or value == "":
            raise InvalidInput("请填写一个值", code="invalid_setting")
        stored = system.change_setting(services(), key, value, by=current_actor())
    except DomainError as exc:
        return error_alert(exc, f"settings-error-{key.replace('.', '-')}")
    shown = "已保存" if isinstance(stored, dict | list) else f"已保存：{stored}"
    return alert(shown, True, f"settings-ok-{key.replace('.', '-')}")


def _kind(key: str) -> str:
    from backend.domain.settings_catalog import catalog

    defn = catalog().get(key)
    return defn.kind if defn else ""


def _callbacks(app: Any) -> None:
    from dash import ctx

    app.callback(Output({"type": "settings-msg", "key": MATCH}, "children"),
                 Input({"type": "settings-save", "key": MATCH}, "n_clicks"),
                 State({"type": "settings-input", "key": MATCH}, "value"),
                 prevent_initial_call=True)(lambda _n, value: save(ctx.triggered_id["key"], value))


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "运行参数", body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "运行参数", layout, _callbacks)
