"""Review queue (报告审核): submitted reports, longest waiting first; a senior opens one to approve or return."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.services import report_queries
from backend.web.context import page_actor, services
from panels.report_widgets import exam_table
from panels.shell import staff_page

PATH = "/panels/review"
COLUMNS = [
    ("姓名", lambda i: i["patient"]["name"]),
    ("检查项目", lambda i: i["item_name"]),
    ("类别", lambda i: i["patient_class_label"]),
    ("报告医师", lambda i: i["report_author"]),
    ("提交时间", lambda i: i["submitted_local"]),
    ("", lambda i: html.A("审核", href=f"/panels/reports/{i['accession']}", className="btn btn-sm btn-primary")),
]


def _table(actor: Actor) -> Any:
    items = report_queries.to_review(services(), by=actor)
    return html.Div([html.Div(f"共 {len(items)} 份报告待审核", className="small text-muted mb-2", id="review-count"),
                     exam_table(items, COLUMNS, table_id="review-table", empty="暂无待审核的报告")])


def _body(actor: Actor) -> Any:
    return html.Div([
        html.Div([html.H4("报告审核", className="mb-0 me-3"),
                  html.Span("已提交的报告，提交最早的在前；不能审核本人书写的报告。", className="small text-muted")],
                 className="d-flex align-items-baseline mb-3"),
        html.Div(_table(actor), id="review-list"),
        dcc.Interval(id="review-refresh", interval=30_000),
    ])


def layout(**_query: Any) -> Any:
    return staff_page(Perm.REPORT_APPROVE, PATH, _body)


@dash.callback(Output("review-list", "children"), Input("review-refresh", "n_intervals"), prevent_initial_call=True)
def _refresh(_n: Any) -> Any:
    """Re-read the queue every 30 seconds."""
    actor = page_actor()
    return _table(actor) if actor is not None and actor.can(Perm.REPORT_APPROVE) else dash.no_update


def register() -> None:
    dash.register_page(__name__, path=PATH, title="报告审核 - RadOps", name="报告审核", layout=layout)
