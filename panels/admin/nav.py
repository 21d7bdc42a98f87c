"""The admin area's left-hand sub-navigation and page frame; other areas append their admin pages to ADMIN_NAV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from panels.shell import staff_page

# (path, label) in menu order. Kiosks, screens and shifts add theirs with `add_admin_link` at import.
ADMIN_NAV: list[tuple[str, str]] = [
    ("/admin/users", "用户与角色"),
    ("/admin/api-keys", "API 密钥"),
    ("/admin/items", "检查项目"),
    ("/admin/rooms", "检查室"),
    ("/admin/queues", "队列"),
    ("/admin/slots", "号源"),
    ("/admin/settings", "运行参数"),
    ("/admin/audit", "审计日志"),
]


def add_admin_link(path: str, label: str) -> None:
    """Add a page to the admin sub-navigation (once; repeated calls are ignored)."""
    if all(p != path for p, _ in ADMIN_NAV):
        ADMIN_NAV.append((path, label))


def sidebar(active: str) -> Any:
    links = [dbc.NavLink(label, href=path, active=path == active, external_link=True,
                         id=f"admin-nav-{path.rsplit('/', 1)[-1]}") for path, label in ADMIN_NAV]
    return dbc.Nav(links, vertical=True, pills=True, className="admin-nav", id="admin-nav")


def admin_page(path: str, title: str, body: Callable[[Actor], Any]) -> Any:
    """An admin page: the staff frame (needs Perm.ADMIN), the sub-navigation on the left, `body` on the right."""

    def frame(actor: Actor) -> Any:
        return dbc.Row([
            dbc.Col(sidebar(path), width=12, lg=2, className="mb-3"),
            dbc.Col([html.H3(title, className="mb-3", id="admin-title"), body(actor)], width=12, lg=10),
        ], className="g-3")

    # The top navigation has one "系统管理" entry (/admin/users); keep it highlighted on every admin page.
    return staff_page(Perm.ADMIN, ADMIN_NAV[0][0], frame)


def register_admin_page(app: dash.Dash, module: str, path: str, title: str, layout: Callable[..., Any],
                        callbacks: Callable[[Any], None] | None = None) -> None:
    """Register an admin page and bind its callbacks to `app` (like every page: see backend/app.py)."""
    dash.register_page(module, path=path, title=f"{title} - 系统管理 - RadOps", name=title, layout=layout)
    if callbacks is not None:
        callbacks(app)
