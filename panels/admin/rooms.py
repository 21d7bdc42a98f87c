"""Admin page /admin/rooms: examination rooms (检查室) by campus and modality."""

from __future__ import annotations

from typing import Any

import dash

from backend.domain.permissions import Perm
from backend.services.admin import org
from backend.services.base import Services
from backend.services.orders import catalog
from backend.web.callback_guard import staff
from panels.admin.crud import CrudSpec, FormField, bind, crud_body
from panels.admin.items import modality_options
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/rooms"


def campus_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": c["name"], "value": c["id"]} for c in catalog.campuses(svc)]


def _rows(svc: Services, by: Any) -> list[dict[str, Any]]:
    names = {c["value"]: c["label"] for c in campus_options(svc)}
    return [r | {"campus": names.get(r["campus_id"], "")} for r in org.list_rooms(svc, by=by)]


SPEC = CrudSpec(
    prefix="rooms", noun="检查室",
    fields=[
        FormField("code", "编码", create_only=True, required=True, placeholder="如 CT4"),
        FormField("name", "名称", required=True),
        FormField("campus_id", "院区", "select", campus_options, required=True),
        FormField("modality", "设备类型", "select", modality_options, required=True),
        FormField("location", "位置", placeholder="如 门诊楼一层东侧", md=8),
    ],
    columns=[("code", "编码"), ("name", "名称"), ("campus", "院区"), ("modality_label", "设备"),
             ("location", "位置"), ("queues", "服务队列"), ("active", "启用")],
    rows=_rows,
    create=lambda svc, by, v: org.create_room(svc, by=by, **v),
    update=lambda svc, by, id_, v: org.update_room(svc, id_, by=by, **v),
    set_active=lambda svc, by, id_, on: org.update_room(svc, id_, by=by, active=on),
    delete=lambda svc, by, id_: org.delete_room(svc, id_, by=by),
)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "检查室", lambda actor: crud_body(SPEC, actor))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "检查室", layout, lambda app: bind(app, SPEC))
