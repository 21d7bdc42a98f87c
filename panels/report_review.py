"""Review queue (报告审核): submitted reports, longest waiting first; a senior opens one to approve or return."""

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

ACCESS = staff(Perm.REPORT_APPROVE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/review"
COLUMNS = [
    ("姓名", lambda i: i["patient"]["name"]),
    ("检查项目", lambda i: i["item_name"]),
    ("类别", lambda i: i["patient_class_label"]),
    ("报告医师", lambda i: i["report_author"]),
    ("提交时间", lambda i: i["submitted_local"]),
    ("", lambda i: html.A("审核", href=f"/panels/reports/{i['accession']}", className="btn btn-sm btn-primary")),
]


def _load(actor: Actor) -> list[dict[str, Any]]:
    return queries.to_review(services(), by=actor)


layout, _bind = queue_page(key="review", path=PATH, perm=Perm.REPORT_APPROVE, title="报告审核",
                    hint="已提交的报告，提交最早的在前；不能审核本人书写的报告。", load=_load, columns=COLUMNS,
                    count="共 {n} 份报告待审核", empty="暂无待审核的报告")


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="报告审核 - RadOps", name="报告审核", layout=layout)
    _bind(app)
