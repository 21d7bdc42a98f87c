"""Enrolling a kiosk or hall screen on the device itself: the page a device without a credential shows,
and the form an admin signed in on that device uses to issue the long-lived device cookie (issue 14.2)."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from backend.domain.permissions import Perm
from backend.services import devices
from backend.web.context import device_actor, form_token, page_actor

ENROL_PATH = "/devices/enrol"


def gate(kind: str, target: str, *, path: str, preview: Perm | None = None) -> Any | None:
    """None when this browser is the enrolled `kind` for `target` (or, with `preview`, a signed-in user
    holding that permission, e.g. an admin previewing a hall screen); otherwise the page to show instead."""
    dev = device_actor()
    if dev is not None and dev.kind == kind and dev.name == target:
        return None
    if preview is not None and dev is None and (who := page_actor()) is not None and who.can(preview):
        return None
    label = f"{devices.KINDS.get(kind, '设备')} {target}"
    lines: list[Any] = [html.H1(f"本设备尚未启用为{label}")]
    if dev is not None:
        lines.append(html.P(f"本设备已启用为{devices.KINDS.get(dev.kind, '设备')} {dev.name}。"))
    admin = page_actor()
    if admin is not None and admin.can(Perm.ADMIN):
        lines.append(html.Form([
            dcc.Input(type="hidden", name="csrf_token", value=form_token()),
            dcc.Input(type="hidden", name="kind", value=kind),
            dcc.Input(type="hidden", name="target", value=target),
            dcc.Input(type="hidden", name="next", value=path),
            html.Button(f"启用本设备为{label}", type="submit", id="device-enrol", className="btn btn-primary btn-lg"),
        ], method="POST", action=ENROL_PATH))
        lines.append(html.P("启用后请退出管理员登录；设备凭证长期有效，可在“系统管理 · 设备”中吊销。"))
    else:
        lines.append(html.P("请系统管理员在本设备上登录后启用本设备。"))
        lines.append(html.A("管理员登录", href=f"/login?next={path}", id="device-login"))
    return html.Div([html.Link(rel="stylesheet", href="/static/kiosk.css"),
                     html.Div(lines, className="kiosk-error", id="device-not-enrolled")], className="kiosk")
