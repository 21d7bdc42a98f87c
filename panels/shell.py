"""The frame of every staff page: top navigation by permission, the signed-in user, and the guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services.patient_flow import shift_sessions
from backend.web.context import form_token, page_actor, services
from panels import er_popup

SHIFT_PATH = "/panels/shift"


def _gated(actor: Actor) -> bool:
    return actor.kind == "user" and shift_sessions.gate_required(services(), actor)


# (path, label, permission needed to see the link); areas append their pages here.
NAV: list[tuple[str, str, Perm]] = [
    ("/panels/exams", "检查列表", Perm.EXAM_READ),
    ("/panels/register", "登记", Perm.EXAM_REGISTER),
    ("/panels/worklist", "报告工作台", Perm.REPORT_WRITE),
    ("/panels/review", "报告审核", Perm.REPORT_APPROVE),
    ("/panels/er-overdue", "急诊超时", Perm.REPORT_APPROVE),
    ("/panels/critical", "危急值", Perm.CRITICAL_MANAGE),
    ("/panels/imaging/unmatched", "未匹配影像", Perm.EXAM_REGISTER),
    ("/panels/room-desk", "叫号", Perm.EXAM_OPERATE),
    ("/panels/triage", "超声分诊", Perm.TRIAGE),
    ("/panels/us-room", "超声叫号", Perm.EXAM_OPERATE),
    ("/cockpit", "驾驶舱", Perm.COCKPIT_VIEW),
    ("/panels/interfaces", "接口监控", Perm.EXAM_REGISTER),
    ("/admin/users", "系统管理", Perm.ADMIN),
    ("/panels/attachments", "检查附件", Perm.EXAM_OPERATE),
]


def _logout(on_shift: bool) -> Any:
    """退出: a POST with the form token; a doctor on an ultrasound shift goes to the page that asks whether
    the shift ends too (issue 15 item 9; that page only asks, its own form signs out)."""
    if on_shift:
        return html.A("退出", href="/logout", className="btn btn-outline-light btn-sm", id="shell-logout")
    return html.Form([dcc.Input(type="hidden", name="csrf_token", value=form_token()),
                      html.Button("退出", type="submit", className="btn btn-outline-light btn-sm",
                                  id="shell-logout")], method="POST", action="/logout", className="m-0")


def _on_shift(actor: Actor) -> bool:
    return actor.kind == "user" and shift_sessions.current_session(services(), by=actor) is not None


def navbar(actor: Actor, active: str, *, on_shift: bool = False) -> Any:
    links = [dbc.NavItem(dbc.NavLink(label, href=path, active=path == active, external_link=True))
             for path, label, perm in NAV if actor.can(perm)]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand("RadOps 放射科", href="/", external_link=True),
            dbc.Nav(links, className="me-auto radops-nav", navbar=True),
            html.Span(actor.name, className="navbar-text me-3", id="shell-user"),
            # Signing out is a POST carrying the form token (a link would let any page sign staff out).
            _logout(on_shift),
        ], fluid=True),
        color="primary", dark=True, className="mb-0",
    )


def refusal(title: str, message: str, *, login: bool = False) -> Any:
    return dbc.Container(dbc.Alert([
        html.H4(title, className="alert-heading"),
        html.P(message),
        html.A("去登录", href="/login", className="btn btn-primary") if login else html.A(
            "返回首页", href="/", className="btn btn-secondary"),
    ], color="warning", className="mt-5"), id="shell-refusal")


def staff_page(perm: Perm, active: str, body: Callable[[Actor], Any], *, er_banner: bool = False) -> Any:
    """Render `body(actor)` inside the frame, or a refusal for an anonymous or wrong-role visitor.

    `er_banner`: emergency reminders as a banner that blocks nothing (the department head's cockpit).
    """
    actor = page_actor()
    if actor is None:
        return refusal("请先登录", "登录已过期或尚未登录。", login=True)
    if not actor.can(perm):
        return html.Div([navbar(actor, active),
                         refusal("没有权限", "您的角色无权访问此页面，如需开通请联系系统管理员。")])
    on_shift = actor.can(Perm.EXAM_READ) and _on_shift(actor)
    if not on_shift and active != SHIFT_PATH and _gated(actor):
        # US-7 as a setting (`us.shift_required`): ultrasound examiners choose a shift before working.
        return html.Div([navbar(actor, active), dbc.Container(dbc.Alert([
            html.H4("请先选择班次", className="alert-heading"),
            html.P("超声医师须先选择当前班次、诊室和是否有打字员，才能使用此页面。"),
            html.A("去选择班次", href=SHIFT_PATH, className="btn btn-primary", id="shell-choose-shift")],
            color="warning", className="mt-5"), id="shell-shift-gate")])
    return html.Div([navbar(actor, active, on_shift=on_shift), html.Main(body(actor), className="radops-main"),
                     dcc.Store(id="shell-actor", data={"id": actor.id, "name": actor.name}),
                     *er_popup.component(actor, banner=er_banner)])  # emergency-report reminders (ER-1)


# Shown by an action callback whose session expired: the page keeps what was typed.
EXPIRED = "登录已过期，请在新标签页重新登录后再操作（本页已填写的内容不会丢失）"
