"""Report worklist (报告工作台): exams in progress or completed whose report is still to be written."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services import report_queries
from backend.web.context import page_actor, services
from panels.report_widgets import STATUS_COLORS, exam_table
from panels.shell import staff_page

PATH = "/panels/worklist"
COLUMNS = [
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


def _table(actor: Actor) -> Any:
    items = report_queries.to_write(services(), by=actor)
    return html.Div([html.Div(f"共 {len(items)} 个检查待书写报告", className="small text-muted mb-2", id="work-count"),
                     exam_table(items, COLUMNS, table_id="work-table", empty="暂无待书写报告的检查")])


def _body(actor: Actor) -> Any:
    return html.Div([
        html.Div([html.H4("报告工作台", className="mb-0 me-3"),
                  html.Span("检查中或已完成、报告尚未提交的检查；点击检查号书写报告。", className="small text-muted")],
                 className="d-flex align-items-baseline mb-3"),
        html.Div(_table(actor), id="work-list"),
        dcc.Interval(id="work-refresh", interval=30_000),
    ])


def layout(**_query: Any) -> Any:
    return staff_page(Perm.REPORT_WRITE, PATH, _body)


@dash.callback(Output("work-list", "children"), Input("work-refresh", "n_intervals"), prevent_initial_call=True)
def _refresh(_n: Any) -> Any:
    """Re-read the worklist every 30 seconds."""
    actor = page_actor()
    return _table(actor) if actor is not None and actor.can(Perm.REPORT_WRITE) else dash.no_update


def register() -> None:
    dash.register_page(__name__, path=PATH, title="报告工作台 - RadOps", name="报告工作台", layout=layout)
