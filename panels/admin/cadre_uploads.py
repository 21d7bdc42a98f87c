"""Admin page /admin/cadre-uploads: the cadre-health upload ledger (CD-1): each exam's state and progress
(上传中 n/N), attempts, the last failure and the next retry; filters by state and accession; add an exam by
hand, remove one, retry one that stopped retrying."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from backend.domain.cadre_health import CADRE_UPLOAD_LABELS, CadreUploadState
from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.cadre_health import ledger
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin import upload_ledger
from panels.admin.crud import alert, current_actor, error_alert, table
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/cadre-uploads"
TITLE = "干部保健上传"
COLUMNS = [("id", "台账ID"), ("accession", "检查号"), ("modality", "设备"), ("source_label", "来源"),
           ("state_label", "状态"), ("progress", "进度"), ("report_version", "已传报告版本"), ("attempts", "尝试次数"),
           ("last_error", "失败原因"), ("next_try_at", "下次重试"), ("updated_at", "更新时间")]
STATE_OPTIONS = [{"label": label, "value": s.value} for s, label in CADRE_UPLOAD_LABELS.items()]
# The badge colours of the states, as on the health cloud's ledger (the other states stay light).
COLORS = {CadreUploadState.RUNNING: "primary", CadreUploadState.DONE: "success", CadreUploadState.FAILED: "warning",
          CadreUploadState.DEAD: "danger"}
FAILING = {CadreUploadState.FAILED, CadreUploadState.DEAD}
add_admin_link(PATH, TITLE)


def _local(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone(services().tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _rows(state: str | None = None, accession: str | None = None) -> list[dict[str, Any]]:
    rows = ledger.list_uploads(services(), by=current_actor(), state=state or None,
                               accession=(accession or "").strip() or None, limit=200)
    # The next try matters on a failed row; a pending one is simply due.
    return [r | {"next_try_at": _local(r["next_try_at"]) if r["state"] == CadreUploadState.FAILED else "",
                 "updated_at": _local(r["updated_at"]),
                 "progress": upload_ledger.progress(r["files_done"], r["files_total"],
                                                    running=r["state"] == CadreUploadState.RUNNING,
                                                    failed=r["state"] in FAILING),
                 "active": r["state"] != CadreUploadState.CANCELLED} for r in rows]


def _counts() -> Any:
    counts = ledger.counts(services(), by=current_actor())
    return upload_ledger.state_counts([(CADRE_UPLOAD_LABELS[s], counts[s.value], COLORS.get(s, "light"))
                                       for s in CADRE_UPLOAD_LABELS], "cadre-uploads-counts")


def _choices(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": f"{r['id']} · {r['accession']} · {r['state_label']}", "value": r["id"]} for r in rows]


def body(_actor: Any) -> Any:
    rows = _rows()
    return html.Div([
        dbc.Card([dbc.CardHeader("筛选与操作", className="fw-semibold"), dbc.CardBody([
            dbc.Row([
                dbc.Col(dcc.Dropdown(id="cadre-uploads-state", options=STATE_OPTIONS, placeholder="全部状态",
                                     className="small"), md=3),
                dbc.Col(dbc.Input(id="cadre-uploads-accession", placeholder="检查号", size="sm"), md=3),
                dbc.Col(dbc.Button("查询", id="cadre-uploads-search", size="sm"), width="auto"),
            ], className="g-2 mb-2"),
            dbc.Row([
                dbc.Col(dbc.Input(id="cadre-uploads-add-accession", placeholder="人工添加：检查号", size="sm"), md=3),
                dbc.Col(dbc.Button("添加", id="cadre-uploads-add", size="sm", color="primary"), width="auto"),
                dbc.Col(dcc.Dropdown(id="cadre-uploads-select", options=_choices(rows), placeholder="选择台账行",
                                     className="small"), md=4),
                dbc.Col(dbc.Button("重新上传", id="cadre-uploads-retry", size="sm", color="warning"), width="auto"),
                dbc.Col(dbc.Button("移除", id="cadre-uploads-remove", size="sm", color="danger"), width="auto"),
            ], className="g-2"),
            html.Div(id="cadre-uploads-msg", className="mt-2"),
        ])], className="shadow-sm mb-3"),
        html.Div(_counts(), id="cadre-uploads-summary", className="mb-2"),
        html.Div(table(COLUMNS, rows, "cadre-uploads-rows"), id="cadre-uploads-table"),
    ])


def refresh(state: str | None, accession: str | None, message: Any = None) -> tuple[Any, ...]:
    rows = _rows(state, accession)
    return (message if message is not None else dash.no_update, table(COLUMNS, rows, "cadre-uploads-rows"),
            _choices(rows), _counts())


def act(_search: Any, _add: Any, _retry: Any, _remove: Any, state: str | None, accession: str | None,
        add_accession: str | None, chosen: int | None) -> tuple[Any, ...]:
    """One callback for the page's buttons: search, add, retry, remove (each an authorised service call)."""
    return run(str(dash.ctx.triggered_id), state, accession, add_accession, chosen)


def run(trigger: str, state: str | None, accession: str | None, add_accession: str | None,
        chosen: int | None) -> tuple[Any, ...]:
    """The action of the button `trigger`, then the ledger again with the filters."""
    message = None
    try:
        if trigger == "cadre-uploads-add":
            if not (add_accession or "").strip():
                raise InvalidInput("请输入要添加的检查号", code="no_accession")
            row = ledger.add(services(), add_accession or "", by=current_actor())
            message = alert(f"已添加检查 {row['accession']}", True, "cadre-uploads-added")
        elif trigger in ("cadre-uploads-retry", "cadre-uploads-remove"):
            if chosen is None:
                raise InvalidInput("请先选择台账行", code="no_upload_selected")
            if trigger == "cadre-uploads-retry":
                ledger.retry(services(), int(chosen), by=current_actor())
                message = alert("已重新排队上传", True, "cadre-uploads-retried")
            else:
                ledger.remove(services(), int(chosen), by=current_actor())
                message = alert("已从台账移除", True, "cadre-uploads-removed")
    except DomainError as exc:
        return error_alert(exc, "cadre-uploads-error"), dash.no_update, dash.no_update, dash.no_update
    return refresh(state, accession, message)


def _callbacks(app: Any) -> None:
    app.callback(Output("cadre-uploads-msg", "children"), Output("cadre-uploads-table", "children"),
                 Output("cadre-uploads-select", "options"), Output("cadre-uploads-summary", "children"),
                 Input("cadre-uploads-search", "n_clicks"), Input("cadre-uploads-add", "n_clicks"),
                 Input("cadre-uploads-retry", "n_clicks"), Input("cadre-uploads-remove", "n_clicks"),
                 State("cadre-uploads-state", "value"), State("cadre-uploads-accession", "value"),
                 State("cadre-uploads-add-accession", "value"), State("cadre-uploads-select", "value"),
                 prevent_initial_call=True)(act)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, TITLE, body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, TITLE, layout, _callbacks)
