"""Overdue emergency reports (急诊报告超时看板, issue 15 item 3) for the department head and the seniors:
emergency reports past their deadline and not yet approved, longest overdue first, with who holds each."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services.reporting import queries
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.report_queue import queue_page
from panels.report_widgets import countdown_badge

ACCESS = staff(Perm.REPORT_APPROVE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/er-overdue"
COLUMNS = [
    ("超时", countdown_badge),
    ("姓名", lambda i: i["patient"]["name"]),
    ("检查项目", lambda i: i["item_name"]),
    ("类别", lambda i: i["patient_class_label"]),
    ("时限", lambda i: i["due_local"]),
    ("环节", lambda i: i["stage_label"]),
    ("当前负责", lambda i: i["holder"]),
    ("", lambda i: html.A("打开", href=f"/panels/reports/{i['accession']}", className="btn btn-sm btn-primary")),
]


def _load(actor: Actor) -> list[dict[str, Any]]:
    return queries.overdue_board(services(), by=actor)


layout, _bind = queue_page(key="overdue", path=PATH, perm=Perm.REPORT_APPROVE, title="急诊报告超时",
                           hint="已超过报告时限、尚未审核的急诊报告，超时最久的在前（每 30 秒刷新）。", load=_load,
                           columns=COLUMNS, count="共 {n} 份急诊报告超时", empty="暂无超时的急诊报告")


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="急诊报告超时 - RadOps", name="急诊报告超时", layout=layout)
    _bind(app)
