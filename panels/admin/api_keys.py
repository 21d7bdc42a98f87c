"""Admin page /admin/api-keys: system API keys with scopes; a new key is shown once; revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import SCOPE_LABELS, Perm
from backend.services import auth
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import alert, current_actor, error_alert, table
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/api-keys"
COLUMNS = [("prefix", "前缀"), ("name", "名称"), ("scopes", "权限范围"), ("created_at", "创建时间"),
           ("last_used_at", "最近使用"), ("state", "状态")]


def _local(value: str | None) -> str:
    """An ISO UTC time as the hospital's local minute."""
    return datetime.fromisoformat(value).astimezone(services().tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _rows() -> list[dict[str, Any]]:
    return [k | {"state": "已吊销" if k["revoked"] else "有效", "active": not k["revoked"],
                 "created_at": _local(k["created_at"]), "last_used_at": _local(k["last_used_at"])}
            for k in auth.list_api_keys(services(), by=current_actor())]


def _revocable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": f"{k['prefix']} {k['name']}", "value": k["id"]} for k in rows if not k["revoked"]]


def body(_actor: Any) -> Any:
    rows = _rows()
    scopes = [{"label": f"{label}（{scope}）", "value": scope} for scope, label in SCOPE_LABELS.items()]
    return html.Div([
        dbc.Card([dbc.CardHeader("新建 API 密钥", className="fw-semibold"), dbc.CardBody([
            dbc.Row([dbc.Col([dbc.Label("系统名称", className="small mb-0"),
                              dbc.Input(id="apikeys-name", maxLength=64, size="sm", placeholder="如 体检中心")], md=4),
                     dbc.Col([dbc.Label("权限范围", className="small mb-0"),
                              dbc.Checklist(id="apikeys-scopes", options=scopes, value=[], inline=True,
                                            className="small")], md=8)], className="mb-2"),
            html.Div(id="apikeys-msg"),
            dbc.Button("生成密钥", id="apikeys-create", color="primary", size="sm"),
        ])], className="shadow-sm mb-3"),
        dbc.Card([dbc.CardHeader("吊销", className="fw-semibold"), dbc.CardBody([
            dbc.Row([dbc.Col(dcc.Dropdown(id="apikeys-select", options=_revocable(rows), className="small",
                                          placeholder="选择要吊销的密钥"), md=6),
                     dbc.Col(dbc.Button("吊销", id="apikeys-revoke", color="danger", size="sm"), width="auto")]),
            html.Div(id="apikeys-revoke-msg", className="mt-2"),
            dcc.ConfirmDialog(id="apikeys-confirm", message="确定吊销该密钥吗？使用它的系统将立即无法访问。"),
        ])], className="shadow-sm mb-3"),
        html.Div(table(COLUMNS, rows, "apikeys-rows"), id="apikeys-table"),
    ])


def create(name: str | None, scopes: list[str] | None) -> tuple[Any, ...]:
    """Create a key and show it this once; the table and the revoke list are refreshed."""
    try:
        if not (name or "").strip():
            raise InvalidInput("请填写系统名称", code="invalid_name")
        key = auth.create_api_key(services(), name or "", scopes or [], by=current_actor())
    except DomainError as exc:
        return error_alert(exc, "apikeys-error"), *(None,) * 2
    rows = _rows()
    shown = dbc.Alert([html.Div("密钥已生成。请立即复制保存，此密钥只显示这一次："),
                       html.Code(key, id="apikeys-key", className="fs-6 user-select-all")],
                      color="success", className="py-2 mb-2", id="apikeys-ok")
    return shown, table(COLUMNS, rows, "apikeys-rows"), _revocable(rows)


def revoke(key_id: int | None) -> tuple[Any, ...]:
    try:
        if key_id is None:
            raise InvalidInput("请选择要吊销的密钥", code="no_key_selected")
        auth.revoke_api_key(services(), key_id, by=current_actor())
    except DomainError as exc:
        return error_alert(exc, "apikeys-revoke-error"), None, None
    rows = _rows()
    return alert("密钥已吊销", True, "apikeys-revoke-ok"), table(COLUMNS, rows, "apikeys-rows"), _revocable(rows)


def _callbacks(app: Any) -> None:
    from dash import no_update

    def _create(_n: Any, name: str | None, scopes: list[str] | None) -> tuple[Any, ...]:
        out = create(name, scopes)
        return tuple(no_update if v is None else v for v in out)

    def _revoke(_n: Any, key_id: int | None) -> tuple[Any, ...]:
        out = revoke(key_id)
        return tuple(no_update if v is None else v for v in out)

    app.callback(Output("apikeys-msg", "children"), Output("apikeys-table", "children"),
                 Output("apikeys-select", "options"), Input("apikeys-create", "n_clicks"),
                 State("apikeys-name", "value"), State("apikeys-scopes", "value"), prevent_initial_call=True)(_create)
    app.callback(Output("apikeys-confirm", "displayed"), Input("apikeys-revoke", "n_clicks"),
                 prevent_initial_call=True)(lambda _n: True)
    app.callback(Output("apikeys-revoke-msg", "children"), Output("apikeys-table", "children", allow_duplicate=True),
                 Output("apikeys-select", "options", allow_duplicate=True), Input("apikeys-confirm", "submit_n_clicks"),
                 State("apikeys-select", "value"), prevent_initial_call=True)(_revoke)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "API 密钥", body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "API 密钥", layout, _callbacks)
