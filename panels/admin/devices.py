"""Admin page /admin/devices: every enrolled kiosk and hall screen with its last use; revoke a device.

A device is enrolled on the device itself: an admin signs in there, opens /kiosk/<code> or
/screens/<code> and presses 启用本设备 (the page says so when it is not enrolled)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services import devices
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import alert, current_actor, error_alert, table
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/devices"
COLUMNS = [("kind_label", "类型"), ("target", "编号"), ("name", "名称"), ("issued_at", "启用时间"),
           ("issued_by", "启用人"), ("last_used_at", "最近使用"), ("last_ip", "最近地址"), ("state", "状态")]
add_admin_link(PATH, "自助机与大屏设备")


def _local(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone(services().tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _rows() -> list[dict[str, Any]]:
    return [d | {"state": "已吊销" if d["revoked"] else "有效", "active": not d["revoked"],
                 "issued_at": _local(d["issued_at"]), "last_used_at": _local(d["last_used_at"])}
            for d in devices.list_devices(services(), by=current_actor())]


def _revocable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": f"{d['kind_label']} {d['target']} · {d['prefix']}", "value": d["id"]}
            for d in rows if not d["revoked"]]


def body(_actor: Any) -> Any:
    rows = _rows()
    return html.Div([
        dbc.Alert("启用设备：管理员在该自助机或大屏上登录，打开其页面（如 /kiosk/K1、/screens/HALL-MAIN），"
                  "点击“启用本设备”，然后退出登录。设备凭证长期有效，丢失或更换设备时在此吊销。",
                  color="info", className="py-2 small"),
        dbc.Card([dbc.CardHeader("吊销", className="fw-semibold"), dbc.CardBody([
            dbc.Row([dbc.Col(dcc.Dropdown(id="devices-select", options=_revocable(rows), className="small",
                                          placeholder="选择要吊销的设备"), md=6),
                     dbc.Col(dbc.Button("吊销", id="devices-revoke", color="danger", size="sm"), width="auto")]),
            html.Div(id="devices-msg", className="mt-2"),
            dcc.ConfirmDialog(id="devices-confirm", message="确定吊销该设备吗？它将立即停止工作，需重新启用。"),
        ])], className="shadow-sm mb-3"),
        html.Div(table(COLUMNS, rows, "devices-rows"), id="devices-table"),
    ])


def revoke(device_id: int | None) -> tuple[Any, ...]:
    try:
        if device_id is None:
            raise InvalidInput("请选择要吊销的设备", code="no_device_selected")
        devices.revoke(services(), int(device_id), by=current_actor())
    except DomainError as exc:
        return error_alert(exc, "devices-error"), dash.no_update, dash.no_update
    rows = _rows()
    return alert("设备已吊销", True, "devices-revoked"), table(COLUMNS, rows, "devices-rows"), _revocable(rows)


def _callbacks(app: Any) -> None:
    app.callback(Output("devices-confirm", "displayed"), Input("devices-revoke", "n_clicks"),
                 prevent_initial_call=True)(lambda _n: True)
    app.callback(Output("devices-msg", "children"), Output("devices-table", "children"),
                 Output("devices-select", "options"), Input("devices-confirm", "submit_n_clicks"),
                 State("devices-select", "value"), prevent_initial_call=True)(revoke)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "自助机与大屏设备", body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "自助机与大屏设备", layout, _callbacks)
