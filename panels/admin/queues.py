"""Admin page /admin/queues: queues (队列) with their ticket prefix, campus, modality and serving rooms."""

from __future__ import annotations

from typing import Any

import dash

from backend.domain.permissions import Perm
from backend.services.admin import org
from backend.services.base import Services
from backend.web.callback_guard import staff
from panels.admin.crud import CrudSpec, FormField, bind, crud_body, current_actor
from panels.admin.items import modality_options
from panels.admin.nav import admin_page, register_admin_page
from panels.admin.rooms import campus_options

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/queues"


def _room_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": f"{r['code']} {r['name']}", "value": r["id"]}
            for r in org.list_rooms(svc, by=current_actor()) if r["active"]]


def _rows(svc: Services, by: Any) -> list[dict[str, Any]]:
    campuses = {c["value"]: c["label"] for c in campus_options(svc)}
    rooms = {r["id"]: r["code"] for r in org.list_rooms(svc, by=by)}
    return [q | {"campus": campuses.get(q["campus_id"], ""), "rooms": [rooms.get(i, i) for i in q["room_ids"]]}
            for q in org.list_queues(svc, by=by)]


def _create(svc: Services, by: Any, v: dict[str, Any]) -> dict[str, Any]:
    rooms = v.pop("room_ids", None) or []
    return org.create_queue(svc, by=by, room_ids=rooms, **v)


def _update(svc: Services, by: Any, queue_id: int, v: dict[str, Any]) -> dict[str, Any]:
    rooms = v.pop("room_ids", None) or []
    return org.update_queue(svc, queue_id, by=by, room_ids=rooms, **v)


SPEC = CrudSpec(
    prefix="queues", noun="队列",
    fields=[
        FormField("code", "编码", create_only=True, required=True, placeholder="如 CT-E"),
        FormField("name", "名称", required=True),
        FormField("prefix", "叫号前缀", required=True, placeholder="1-4 位大写字母，同院区唯一"),
        FormField("campus_id", "院区", "select", campus_options, required=True),
        FormField("modality", "设备类型", "select", modality_options, required=True),
        FormField("room_ids", "服务的检查室", "multi", _room_options, md=4),
    ],
    columns=[("code", "编码"), ("name", "名称"), ("prefix", "前缀"), ("campus", "院区"),
             ("modality_label", "设备"), ("rooms", "检查室"), ("active", "启用")],
    rows=_rows, create=_create, update=_update,
    set_active=lambda svc, by, id_, on: org.update_queue(svc, id_, by=by, active=on),
    delete=lambda svc, by, id_: org.delete_queue(svc, id_, by=by),
)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "队列", lambda actor: crud_body(SPEC, actor))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "队列", layout, lambda app: bind(app, SPEC))
