"""Exam attachments (检查附件, HC-2 and HC-3): staff drop JPEG, PNG, BMP, TIFF or PDF files onto an exam; they
become DICOM of the exam's study in the archive (and so reach the health cloud like any received study).

Every callback is an API: it reads the signed-in user from the session and the service checks the role.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.health_cloud import attachments
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.shell import EXPIRED, staff_page

ACCESS = staff(Perm.EXAM_OPERATE)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/attachments"
DROP_STYLE = {"borderWidth": "2px", "borderStyle": "dashed", "borderRadius": "8px", "padding": "2.5rem",
              "textAlign": "center", "background": "#f8f9fa", "cursor": "pointer"}


def _body(accession: str) -> Any:
    return html.Div([
        html.H3("检查附件", className="mb-2"),
        html.P("超声、内镜等工作站的 JPEG/PNG/BMP/TIFF 图像及 PDF 报告拖放到下方，转换为 DICOM 后归档到该检查"
               "（JPEG 原样封装，不重新压缩）。", className="text-muted small"),
        dbc.Row(dbc.Col([dbc.Label("检查号", html_for="att-accession"),
                         dbc.Input(id="att-accession", value=accession, maxLength=32, placeholder="检查号")], md=4),
                className="mb-3"),
        dcc.Upload(id="att-drop", multiple=True, max_size=100 * 2**20, style=DROP_STYLE,
                   accept=".jpg,.jpeg,.png,.bmp,.tif,.tiff,.pdf",
                   children=html.Div(["将文件拖放到此处，或 ", html.A("点击选择文件")])),
        html.Div(id="att-result", className="mt-3"),
    ])


def layout(accession: str = "", **_query: Any) -> Any:
    return staff_page(Perm.EXAM_OPERATE, PATH, lambda _actor: _body(str(accession)[:32]))


def _decode(content: str) -> bytes:
    try:
        return base64.b64decode(content.split(",", 1)[1], validate=False)
    except (IndexError, binascii.Error) as exc:
        raise InvalidInput("文件内容无法读取", code="attachment_unreadable") from exc


def _result(view: dict[str, Any]) -> Any:
    rows = [html.Tr([html.Td(r["filename"]),
                     html.Td(dbc.Badge("已归档", color="success") if r["ok"] else dbc.Badge("未归档", color="danger")),
                     html.Td(r.get("reason") or r.get("kind", ""))], className="att-row") for r in view["results"]]
    ok = sum(1 for r in view["results"] if r["ok"])
    return html.Div([
        dbc.Alert(f"检查 {view['accession']}：{ok} 个 DICOM 对象已归档", color="success" if ok else "warning",
                  id="att-msg"),
        dbc.Table([html.Thead(html.Tr([html.Th("文件"), html.Th("结果"), html.Th("说明")])), html.Tbody(rows)],
                  size="sm", id="att-table", className="bg-white small"),
    ])


def _upload(contents: list[str] | None, names: list[str] | None, accession: str | None) -> Any:
    actor = page_actor()
    if actor is None:
        return dbc.Alert(EXPIRED, color="warning")
    if not contents:
        return dash.no_update
    try:
        acc = (accession or "").strip()
        if not acc:
            raise InvalidInput("请先填写检查号", code="accession_missing")
        files = [attachments.Attachment(name or "", _decode(c)) for c, name in zip(contents, names or [], strict=False)]
        view = attachments.attach(services(), acc, files, by=actor)
    except DomainError as exc:
        return dbc.Alert(exc.message, color="danger", id="att-error")
    return _result(view)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="检查附件 - RadOps", name="检查附件", layout=layout)
    app.callback(Output("att-result", "children"), Input("att-drop", "contents"), State("att-drop", "filename"),
                 State("att-accession", "value"), prevent_initial_call=True)(_upload)
