"""Admin page /admin/items: exam items (检查项目) with modality, category, queue, slot/room needs, template, TAT."""

from __future__ import annotations

from typing import Any

import dash

from backend.domain.enums import CATEGORY_LABELS
from backend.domain.permissions import Perm
from backend.services.admin import items as admin_catalog
from backend.services.admin import org
from backend.services.base import Services
from backend.services.orders import catalog
from backend.web.callback_guard import staff
from panels.admin.crud import CrudSpec, FormField, bind, crud_body, current_actor
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/items"


def modality_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": m["name"], "value": m["code"]} for m in catalog.modalities(svc)]


def _queue_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": f"{q['code']} {q['name']}", "value": q["id"]}
            for q in org.list_queues(svc, by=current_actor()) if q["active"]]


def _template_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": t["name"], "value": t["code"]} for t in admin_catalog.report_templates(svc)]


SPEC = CrudSpec(
    prefix="items", noun="检查项目",
    fields=[
        FormField("code", "编码", create_only=True, required=True, placeholder="如 CT-CHEST"),
        FormField("name", "名称", required=True, md=8),
        FormField("modality", "设备类型", "select", modality_options, required=True),
        FormField("body_part", "检查部位"),
        FormField("category", "类别", "radio",
                  lambda _svc: [{"label": v, "value": k.value} for k, v in CATEGORY_LABELS.items()]),
        FormField("queue_id", "队列", "select", _queue_options, placeholder="无（不排队）"),
        FormField("report_template_code", "报告模板", "select", _template_options, placeholder="无"),
        FormField("needs_slot", "需要预约号源", "switch", placeholder="需要", md=2),
        FormField("needs_room", "需要检查室", "switch", placeholder="需要", md=2),
        FormField("tat_routine_min", "常规报告时限（分钟）", "number", placeholder="留空按全局设置"),
        FormField("tat_emergency_min", "急诊报告时限（分钟）", "number", placeholder="留空按全局设置"),
    ],
    columns=[("code", "编码"), ("name", "名称"), ("modality_label", "设备"), ("body_part", "部位"),
             ("category_label", "类别"), ("queue_code", "队列"), ("needs_slot", "需预约"), ("needs_room", "需检查室"),
             ("report_template_code", "模板"), ("tat_routine_min", "常规时限"), ("tat_emergency_min", "急诊时限"),
             ("active", "启用")],
    rows=lambda svc, by: admin_catalog.list_items(svc, by=by),
    create=lambda svc, by, v: admin_catalog.create_item(svc, by=by, **v),
    update=lambda svc, by, id_, v: admin_catalog.update_item(svc, id_, by=by, **v),
    set_active=lambda svc, by, id_, on: admin_catalog.set_item_active(svc, id_, on, by=by),
    delete=lambda svc, by, id_: admin_catalog.delete_item(svc, id_, by=by),
    defaults={"category": "routine", "needs_slot": False, "needs_room": True},
)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "检查项目", lambda actor: crud_body(SPEC, actor))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "检查项目", layout, lambda app: bind(app, SPEC))
