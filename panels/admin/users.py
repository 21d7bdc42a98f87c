"""Admin page /admin/users: staff accounts with roles and department; deactivate, reset password."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from backend.domain.actor import Actor
from backend.domain.enums import ROLE_LABELS
from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services import auth, sessions
from backend.services.admin import items as admin_catalog
from backend.services.admin import users as admin_users
from backend.services.base import Services
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import CrudSpec, FormField, alert, bind, crud_body, current_actor, error_alert
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/users"


def _departments(svc: Services) -> list[dict[str, Any]]:
    return [{"label": d["name"], "value": d["id"]} for d in admin_catalog.departments(svc)]


def _rows(svc: Services, by: Actor) -> list[dict[str, Any]]:
    names = {d["value"]: d["label"] for d in _departments(svc)}
    return [u | {"department": names.get(u["department_id"], "")} for u in auth.list_users(svc, by=by)]


def _update(svc: Services, by: Actor, user_id: int, v: dict[str, Any]) -> dict[str, Any]:
    return admin_users.edit_user(svc, user_id, by=by, display_name=v.get("display_name") or "",
                                 roles=v.get("roles") or [], department_id=v.get("department_id"))


SPEC = CrudSpec(
    prefix="users", noun="用户",
    fields=[
        FormField("username", "用户名", create_only=True, required=True, placeholder="登录名"),
        FormField("display_name", "姓名", required=True),
        FormField("password", "初始密码", "password", create_only=True, required=True, placeholder="至少 8 位"),
        FormField("roles", "角色", "checklist",
                  lambda _svc: [{"label": v, "value": k.value} for k, v in ROLE_LABELS.items()], required=True, md=8),
        FormField("department_id", "科室", "select", _departments),
    ],
    columns=[("username", "用户名"), ("display_name", "姓名"), ("role_labels", "角色"), ("department", "科室"),
             ("active", "启用")],
    rows=_rows,
    create=lambda svc, by, v: admin_users.create_user(svc, by=by, username=v.get("username") or "",
                                                      password=v.get("password") or "",
                                                      display_name=v.get("display_name") or "",
                                                      roles=v.get("roles") or [],
                                                      department_id=v.get("department_id")),
    update=_update,
    set_active=lambda svc, by, id_, on: admin_users.set_active(svc, id_, on, by=by),
)


def reset_card() -> Any:
    return dbc.Card([
        dbc.CardHeader("重置所选用户的密码", className="fw-semibold"),
        dbc.CardBody([
            dbc.Row([
                dbc.Col(dbc.Input(id="users-newpw", type="password", placeholder="新密码，至少 8 位", size="sm",
                                  autoComplete="new-password"), md=4),
                dbc.Col(dbc.Button("重置密码", id="users-reset", color="secondary", size="sm"), width="auto"),
                dbc.Col(dbc.Button("在所有设备上退出登录", id="users-signout", color="warning", size="sm"),
                        width="auto"),
            ], className="mb-2"),
            html.Div(id="users-reset-msg"),
            html.Div(id="users-signout-msg"),
        ]),
    ], className="shadow-sm mb-3")


def reset(selected: int | None, password: str | None) -> Any:
    """Reset the picked user's password; errors stay next to the form."""
    try:
        if selected is None:
            raise InvalidInput("请先在上方选择一个用户", code="no_user_selected")
        admin_users.reset_password(services(), selected, password or "", by=current_actor())
    except DomainError as exc:
        return error_alert(exc, "users-reset-error")
    return alert("密码已重置，请通知本人登录后修改", True, "users-reset-ok")


def sign_out(selected: int | None) -> Any:
    """End every session of the picked user (a lost badge, a workstation left signed in)."""
    try:
        if selected is None:
            raise InvalidInput("请先在上方选择一个用户", code="no_user_selected")
        ended = sessions.sign_out_everywhere(services(), int(selected), by=current_actor())
    except DomainError as exc:
        return error_alert(exc, "users-signout-error")
    return alert(f"已结束该用户的 {ended} 个登录会话", True, "users-signout-ok")


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "用户与角色", lambda actor: html.Div([crud_body(SPEC, actor), reset_card()]))


def _callbacks(app: Any) -> None:
    bind(app, SPEC)
    app.callback(Output("users-reset-msg", "children"), Input("users-reset", "n_clicks"),
                 State("users-select", "value"), State("users-newpw", "value"),
                 prevent_initial_call=True)(lambda _n, sel, pw: reset(sel, pw))
    app.callback(Output("users-signout-msg", "children"), Input("users-signout", "n_clicks"),
                 State("users-select", "value"), prevent_initial_call=True)(lambda _n, sel: sign_out(sel))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "用户与角色", layout, _callbacks)
