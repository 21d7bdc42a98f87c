"""Admin pages /admin/shift-groups and /admin/shifts (US-2..US-6): shift groups (班次组) and work shifts
(工作班次) with campus, department, linked queues, time-slot type, maximum auto-triage and typist weight."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from backend.domain.dispatch import SLOT_TYPES
from backend.domain.permissions import Perm
from backend.services.admin import items as admin_catalog
from backend.services.admin import org
from backend.services.base import Services
from backend.services.patient_flow import shifts
from backend.web.callback_guard import staff
from panels.admin.crud import CrudSpec, FormField, bind, crud_body, current_actor
from panels.admin.nav import add_admin_link, admin_page, register_admin_page
from panels.admin.rooms import campus_options

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

SLOT_OPTIONS = [{"label": v, "value": k} for k, v in SLOT_TYPES.items()]
GROUPS_PATH, SHIFTS_PATH = "/admin/shift-groups", "/admin/shifts"
add_admin_link(GROUPS_PATH, "班次组")
add_admin_link(SHIFTS_PATH, "工作班次")


def _dept_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": d["name"], "value": d["id"]} for d in admin_catalog.departments(svc) if d["kind"] == "imaging"]


def _group_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": g["name"], "value": g["id"]} for g in shifts.list_groups(svc, by=current_actor())]


def _queue_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": f"{q['code']} {q['name']}", "value": q["id"]}
            for q in org.list_queues(svc, by=current_actor()) if q["active"]]


def _group_rows(svc: Services, by: Any) -> list[dict[str, Any]]:
    depts = {d["value"]: d["label"] for d in _dept_options(svc)}
    return [g | {"department": depts.get(g["department_id"], "")} for g in shifts.list_groups(svc, by=by)]


def _shift_rows(svc: Services, by: Any) -> list[dict[str, Any]]:
    groups = {g["id"]: g["name"] for g in shifts.list_groups(svc, by=by)}
    campuses = {c["value"]: c["label"] for c in campus_options(svc)}
    queues = {q["id"]: q["code"] for q in org.list_queues(svc, by=by)}
    return [s | {"group": groups.get(s["group_id"], ""), "campus": campuses.get(s["campus_id"], ""),
                 "queues": [queues.get(i, i) for i in s["queue_ids"]]} for s in shifts.list_shifts(svc, by=by)]


def _create_shift(svc: Services, by: Any, v: dict[str, Any]) -> dict[str, Any]:
    qids = v.pop("queue_ids", None) or []
    return shifts.create_shift(svc, by=by, queue_ids=qids, **v)


def _update_shift(svc: Services, by: Any, shift_id: int, v: dict[str, Any]) -> dict[str, Any]:
    qids = v.pop("queue_ids", None)
    return shifts.update_shift(svc, shift_id, by=by, queue_ids=qids, **v)


def _delete_shift(svc: Services, by: Any, shift_id: int) -> None:
    shifts.delete_shift(svc, shift_id, by=by)


GROUP_SPEC = CrudSpec(
    prefix="shiftgroups", noun="班次组",
    fields=[FormField("name", "名称", required=True, placeholder="如 上午班"),
            FormField("department_id", "科室", "select", _dept_options)],
    columns=[("name", "名称"), ("department", "科室"), ("active", "启用")],
    rows=_group_rows,
    create=lambda svc, by, v: shifts.create_group(svc, by=by, **v),
    update=lambda svc, by, id_, v: shifts.update_group(svc, id_, by=by, **v),
    set_active=lambda svc, by, id_, on: shifts.update_group(svc, id_, by=by, active=on),
    delete=lambda svc, by, id_: shifts.delete_group(svc, id_, by=by),
)

SHIFT_SPEC = CrudSpec(
    prefix="shifts", noun="工作班次",
    fields=[
        FormField("name", "名称", required=True, placeholder="如 乳腺上午班"),
        FormField("group_id", "班次组", "select", _group_options, required=True),
        FormField("campus_id", "院区", "select", campus_options, required=True),
        FormField("department_id", "科室", "select", _dept_options),
        FormField("slot_type", "时段类型", "select", lambda _svc: SLOT_OPTIONS, required=True),
        FormField("queue_ids", "关联队列（亚专科）", "multi", _queue_options, md=8),
        FormField("max_auto", "自动分诊最大数量", "number", required=True, placeholder="0-500"),
        FormField("typist_weight", "打字员权重", "number", required=True, placeholder="0 到 1，如 0.5"),
        # The working window in site time; empty: the slot type's default (上午 08:00-12:00, ...). A session
        # ends at its end plus the grace setting (issue 15 item 9).
        FormField("start_time", "开始时间（院区当地时间）", placeholder="如 08:00，留空按时段"),
        FormField("end_time", "结束时间（院区当地时间）", placeholder="如 12:00，留空按时段"),
    ],
    columns=[("name", "名称"), ("group", "班次组"), ("campus", "院区"), ("slot_label", "时段"), ("window", "工作时间"),
             ("queues", "关联队列"), ("max_auto", "自动分诊上限"), ("typist_weight", "打字员权重"), ("active", "启用")],
    rows=_shift_rows, create=_create_shift, update=_update_shift,
    set_active=lambda svc, by, id_, on: shifts.update_shift(svc, id_, by=by, active=on),
    delete=_delete_shift,
    defaults={"slot_type": "am", "max_auto": 10, "typist_weight": 0.5},
)


def groups_layout(**_query: Any) -> Any:
    return admin_page(GROUPS_PATH, "班次组", lambda actor: crud_body(GROUP_SPEC, actor))


def shifts_layout(**_query: Any) -> Any:
    note = "有打字员时，诊室自动分诊上限 = 最大数量 ×（1 + 打字员权重），向下取整；删除已使用过的班次会改为停用。"
    return admin_page(SHIFTS_PATH, "工作班次", lambda actor: html.Div([html.P(note, className="text-muted small"),
                                                                    crud_body(SHIFT_SPEC, actor)]))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__ + ".groups", GROUPS_PATH, "班次组", groups_layout, lambda app: bind(app,
    GROUP_SPEC))
    register_admin_page(app, __name__, SHIFTS_PATH, "工作班次", shifts_layout, lambda app: bind(app, SHIFT_SPEC))
