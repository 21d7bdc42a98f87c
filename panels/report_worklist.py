"""Report worklist (报告工作台): exams in progress or completed whose report is still to be written."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services.reporting import queries
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.report_queue import queue_page
from panels.report_widgets import STATUS_COLORS, countdown_badge

ACCESS = staff(Perm.REPORT_WRITE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/worklist"
COLUMNS = [
    ("时限", countdown_badge),  # emergency exams pinned on top with their countdown (issue 15 item 3)
    ("姓名", lambda i: i["patient"]["name"]),
    ("检查项目", lambda i: i["item_name"]),
    ("类别", lambda i: i["patient_class_label"]),
    ("检查状态", lambda i: i["status_label"]),
    ("报告状态", lambda i: dbc.Badge(i["report_status_label"],
                                     color=STATUS_COLORS.get(i["report_status"], "secondary"))),
    ("报告医师", lambda i: i["report_author"]),
    ("登记时间", lambda i: i["created_local"]),
    ("退回原因", lambda i: i["return_reason"]),
]


def _load(actor: Actor) -> list[dict[str, Any]]:
    return queries.to_write(services(), by=actor)


layout, _bind = queue_page(key="work", path=PATH, perm=Perm.REPORT_WRITE, title="报告工作台",
                    hint="检查中或已完成、报告尚未提交的检查；急诊检查置顶并显示报告时限倒计时；点击检查号书写报告。",
                    load=_load, columns=COLUMNS,
                    count="共 {n} 个检查待书写报告", empty="暂无待书写报告的检查")


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="报告工作台 - RadOps", name="报告工作台", layout=layout)
    _bind(app)
