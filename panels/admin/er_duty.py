"""Admin page /admin/er-duty (急诊值班表, issue 15 item 2): who reads emergency reports of which modality at
what time. Emergency reminders without an author go to the doctors on duty; no line for a modality: the
whole department is reminded, as before."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from backend.domain.permissions import Perm
from backend.services import auth
from backend.services.base import Services
from backend.services.reporting import er_duty
from backend.web.callback_guard import staff
from panels.admin.crud import CrudSpec, FormField, bind, crud_body, current_actor
from panels.admin.items import modality_options
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/er-duty"
add_admin_link(PATH, "急诊值班表")
READERS = frozenset({"radiologist", "senior_radiologist"})


def _reader_options(svc: Services) -> list[dict[str, Any]]:
    return [{"label": u["display_name"], "value": u["id"]} for u in auth.list_users(svc, by=current_actor())
            if u.get("active") and READERS & set(u.get("roles", []))]


def _rows(svc: Services, by: Any) -> list[dict[str, Any]]:
    return [d | {"modality": d["modality_code"] or "全部", "days": d["weekdays"] or "每天",
                 "time": f"{d['start_time']}–{d['end_time']}"} for d in er_duty.list_duties(svc, by=by)]


SPEC = CrudSpec(
    prefix="erduty", noun="值班",
    fields=[
        FormField("user_id", "值班医生", "select", _reader_options, required=True),
        FormField("modality_code", "设备类型（空为全部）", "select", modality_options),
        FormField("weekdays", "星期（1-7，逗号分隔；空为每天）", placeholder="如 1,2,3,4,5"),
        FormField("start_time", "开始时间", required=True, placeholder="如 08:00"),
        FormField("end_time", "结束时间（早于开始为跨夜）", required=True, placeholder="如 17:00"),
    ],
    columns=[("user_name", "值班医生"), ("modality", "设备"), ("days", "星期"), ("time", "时间"), ("active", "启用")],
    rows=_rows,
    create=lambda svc, by, v: er_duty.create_duty(svc, by=by, **v),
    update=lambda svc, by, id_, v: er_duty.update_duty(svc, id_, by=by, **v),
    set_active=lambda svc, by, id_, on: er_duty.update_duty(svc, id_, by=by, active=on),
    delete=lambda svc, by, id_: er_duty.delete_duty(svc, id_, by=by),
)


def layout(**_query: Any) -> Any:
    note = ("急诊报告尚未有人书写时，提醒发给当前值班的医生；报告提交后提醒值班审核医师。"
            "某设备未排班时，提醒科室全部医生。")
    return admin_page(PATH, "急诊值班表", lambda actor: html.Div([html.P(note, className="text-muted small"),
                                                             crud_body(SPEC, actor)]))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "急诊值班表", layout, lambda app: bind(app, SPEC))
