"""Unmatched studies (未匹配影像, issue 10 item 3): archived studies whose accession number and patient/date
matched no exam; staff attach each to its exam by accession number (audited, on the exam's timeline)."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.imaging import matching
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.shell import staff_page

ACCESS = staff(Perm.EXAM_REGISTER)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/imaging/unmatched"
HEADS = ("接收时间", "检查号(影像)", "患者ID", "姓名", "检查日期", "设备", "描述", "序列", "图像", "来源")
KEYS = ("received_at", "accession", "patient_id", "patient_name", "study_date", "modalities", "description",
        "series", "instances", "received_from")


def _table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.Div("没有未匹配的影像", className="text-muted p-3", id="unmatched-table")
    body = [html.Tr([html.Td(str(r[k])) for k in KEYS], id=f"unmatched-row-{r['id']}") for r in rows]
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in HEADS])), html.Tbody(body)], size="sm",
                     striped=True, hover=True, id="unmatched-table")


def _options(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": f"{r['received_at']} {r['patient_id']} {r['accession'] or '（无检查号）'} {r['modalities']}",
             "value": r["id"]} for r in rows]


def _body(actor: Any) -> Any:
    rows = matching.unmatched_studies(services(), actor)
    return html.Div([
        html.H3("未匹配影像", className="mb-3"),
        html.P("以下影像按检查号、患者ID+检查日期均未找到对应检查，请选择影像并填写检查号进行人工匹配。",
               className="text-muted"),
        dbc.Row([
            dbc.Col(dbc.Select(id="unmatched-pick", options=_options(rows), placeholder="选择影像"), md=6),
            dbc.Col(dbc.Input(id="unmatched-accession", placeholder="检查号", size="sm"), md=3),
            dbc.Col(dbc.Button("匹配到该检查", id="unmatched-match", color="primary", size="sm"), md=3),
        ], className="g-2 mb-2"),
        html.Div(id="unmatched-msg"),
        html.Div(_table(rows), id="unmatched-list"),
    ])


def layout(**_query: Any) -> Any:
    return staff_page(Perm.EXAM_REGISTER, PATH, _body)


def _match(_n: int | None, study_id: str | None, accession: str | None) -> tuple[Any, Any, Any]:
    actor = page_actor()
    if actor is None:
        return dbc.Alert("登录已过期，请重新登录", color="danger"), dash.no_update, dash.no_update
    try:
        if not study_id or not (accession or "").strip():
            raise InvalidInput("请选择影像并填写检查号", code="missing_choice")
        done = matching.match_by_hand(services(), int(study_id), accession or "", by=actor)
        msg = dbc.Alert(f"已匹配到检查 {done['accession']}", color="success", id="unmatched-ok")
    except DomainError as exc:
        msg = dbc.Alert(exc.message, color="danger", id="unmatched-error")
    rows = matching.unmatched_studies(services(), actor)
    return msg, _table(rows), _options(rows)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="未匹配影像 - RadOps", name="未匹配影像", layout=layout)
    app.callback(Output("unmatched-msg", "children"), Output("unmatched-list", "children"),
                 Output("unmatched-pick", "options"), Input("unmatched-match", "n_clicks"),
                 State("unmatched-pick", "value"), State("unmatched-accession", "value"),
                 prevent_initial_call=True)(_match)
