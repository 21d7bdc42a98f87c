"""The exam list (检查列表) panel: filters, keyset pages, live refresh and a row context menu."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash_socketio import DashSocketIO

from backend.domain.actor import Actor
from backend.domain.catalog import Audience, listens
from backend.domain.errors import DomainError
from backend.domain.exam_query import MAX_PAGE, ExamFilter
from backend.domain.permissions import Perm
from backend.services.orders import catalog, exam_list
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services, socket_options
from panels import exam_list_menu
from panels.exam_table import (
    CLASS_OPTIONS,
    MODALITY_OPTIONS,
    REPORT_OPTIONS,
    SORT_OPTIONS,
    STATUS_OPTIONS,
    table,
)
from panels.shell import staff_page

ACCESS = staff(Perm.EXAM_READ)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/exams"
PAGE_SIZE = 50
# Exam and report events that change a row; the server emits them to the staff room "exams".
LIVE_EVENTS = listens(Audience.EXAM_LIST)
RESYNC_MS = 30_000
FILTER_IDS = ["exams-date-from", "exams-date-to", "exams-status", "exams-report", "exams-modality", "exams-item",
              "exams-class", "exams-campus", "exams-sort"]


def _today() -> date:
    svc = services()
    return svc.clock().astimezone(svc.tz).date()


def _dropdown(id_: str, placeholder: str, opts: list[dict[str, Any]], *, multi: bool = True) -> Any:
    return dcc.Dropdown(id=id_, options=opts, multi=multi, placeholder=placeholder, className="exams-filter")


def _item_options(actor: Actor) -> list[dict[str, str]]:
    return [{"label": f"{i['modality_label']} · {i['name']}", "value": i["code"]}
            for i in catalog.exam_items(services(), by=actor)]


def _field(label: str, control: Any, width: int) -> Any:
    return dbc.Col([dbc.Label(label, className="form-label small text-muted mb-0"), control], md=width)


def _filters(actor: Actor, today: str, q: str) -> Any:
    campuses = [{"label": c["name"], "value": c["id"]} for c in catalog.campuses(services())]
    return dbc.Card(dbc.CardBody([
        dbc.Row([
            _field("登记日期 从", dbc.Input(id="exams-date-from", type="date", value=today, size="sm"), 2),
            _field("至", dbc.Input(id="exams-date-to", type="date", value=today, size="sm"), 2),
            _field("检查状态", _dropdown("exams-status", "全部状态", STATUS_OPTIONS), 2),
            _field("报告状态", _dropdown("exams-report", "全部", REPORT_OPTIONS), 2),
            _field("设备类型", _dropdown("exams-modality", "全部设备", MODALITY_OPTIONS), 2),
            _field("患者类别", _dropdown("exams-class", "全部类别", CLASS_OPTIONS), 2),
        ], className="g-2"),
        dbc.Row([
            _field("检查项目", _dropdown("exams-item", "全部项目", _item_options(actor)), 3),
            _field("院区", _dropdown("exams-campus", "全部院区", campuses), 2),
            _field("检索", dbc.InputGroup([
                dbc.Input(id="exams-q", value=q, placeholder="检查号 / 病案号 / 姓名开头（不限日期）", size="sm"),
                dbc.Button("查询", id="exams-search", color="primary", size="sm"),
            ], size="sm"), 3),
            _field("排序", dbc.Select(id="exams-sort", options=SORT_OPTIONS, value="created_desc", size="sm"), 2),
            dbc.Col(dbc.Button("重置条件", id="exams-reset", color="link", size="sm", href=PATH,
                               external_link=True, className="mt-3"), md=2, className="text-end"),
        ], className="g-2 mt-1"),
    ], className="py-2"), className="mb-2 shadow-sm", id="exams-filters")


def _body(actor: Actor, q: str) -> Any:
    today = _today().isoformat()
    return html.Div([
        html.Div([
            html.H4("检查列表", id="exams-title", className="mb-0 me-3"),
            html.Span(id="exams-count", className="text-muted small me-3"),
            html.Span("● 实时", id="exams-live", className="small text-secondary me-3", title="实时更新连接状态"),
            html.Span("提示：右键点击检查行可查看详情、书写报告或取消检查", className="small text-muted"),
        ], className="d-flex align-items-baseline mb-2"),
        _filters(actor, today, q),
        dbc.Alert(id="exams-error", color="danger", is_open=False, className="py-2"),
        dcc.Loading(html.Div(id="exams-table-wrap"), type="dot", delay_show=400),
        html.Div(dbc.Button("加载更多", id="exams-more", color="secondary", outline=True, size="sm"),
                 id="exams-more-wrap", className="text-center my-2", style={"display": "none"}),
        dcc.Store(id="exams-rows", data=[]), dcc.Store(id="exams-cursor"), dcc.Store(id="exams-flash"),
        dcc.Store(id="exams-refresh", data=0),
        dcc.Interval(id="exams-resync", interval=RESYNC_MS),
        DashSocketIO(id="exams-socket", eventNames=LIVE_EVENTS, options=socket_options({"exams": "1"})),
        exam_list_menu.components(),
    ])


def layout(q: str = "", **_query: Any) -> Any:
    return staff_page(Perm.EXAM_READ, PATH, lambda actor: _body(actor, str(q or "")[:64]))


def _filter(values: dict[str, Any], q: str | None) -> ExamFilter:
    def d(v: str | None) -> date | None:
        return date.fromisoformat(v) if v else None

    term = (q or "").strip() or None
    # A typed accession, MRN or name is looked up across all dates: the patient may have come last week.
    return ExamFilter(date_from=None if term else d(values["exams-date-from"]),
                      date_to=None if term else d(values["exams-date-to"]),
                      statuses=tuple(values["exams-status"] or ()), report_statuses=tuple(values["exams-report"] or ()),
                      modalities=tuple(values["exams-modality"] or ()), item_codes=tuple(values["exams-item"] or ()),
                      patient_classes=tuple(values["exams-class"] or ()),
                      campus_ids=tuple(int(c) for c in values["exams-campus"] or ()), q=term)


def _search(*args: Any) -> tuple[Any, ...]:
    """Run the search: filters restart at page one; 加载更多 appends; live events re-read what is shown."""
    actor = page_actor()
    if actor is None:
        return [], None, "登录已过期，请刷新页面重新登录", True, None
    values = dict(zip(FILTER_IDS, args[:len(FILTER_IDS)], strict=True))
    q, rows, cursor = args[-3], args[-2] or [], args[-1]
    trig = str(ctx.triggered_id or "")
    try:
        f = _filter(values, q)
        sort = values["exams-sort"] or "created_desc"
        if trig == "exams-more" and cursor:
            page = exam_list.search(services(), f, by=actor, sort=sort, cursor=cursor, limit=PAGE_SIZE)
            return rows + page["items"], page["next_cursor"], None, False, None
        live = trig in {"exams-socket", "exams-resync", "exams-refresh"}
        limit = min(max(len(rows), PAGE_SIZE), MAX_PAGE) if live else PAGE_SIZE
        # Automatic refreshes re-read rows the user already saw: only the user's own searches are audited.
        page = exam_list.search(services(), f, by=actor, sort=sort, limit=limit, record_read=not live)
    except (DomainError, ValueError) as exc:
        return rows, cursor, getattr(exc, "message", "日期格式错误"), True, None
    flash = _event_exam_id() if trig == "exams-socket" else None
    return page["items"], page["next_cursor"], None, False, flash


def _event_exam_id() -> int | None:
    """The exam of the live event that triggered this run, to highlight its row."""
    for item in ctx.triggered:
        value = item.get("value")
        if isinstance(value, dict) and "exam_id" in value:
            return int(value["exam_id"])
    return None


def _render(rows: list[dict[str, Any]] | None, cursor: str | None, flash: int | None) -> tuple[Any, str, Any]:
    rows = rows or []
    more = " · 还有更多" if cursor else ""
    return (table(rows, _today(), flash=flash), f"已加载 {len(rows)} 条{more}",
            {"display": "block"} if cursor else {"display": "none"})


def _live(connected: bool | None) -> tuple[str, str]:
    if connected:
        return "small text-success me-3", "实时更新已连接"
    return "small text-secondary me-3", "实时更新未连接（每 30 秒自动刷新）"


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="检查列表 - RadOps", name="检查列表", layout=layout)
    exam_list_menu.register(app)
    app.callback(
        Output("exams-rows", "data"), Output("exams-cursor", "data"), Output("exams-error", "children"),
        Output("exams-error", "is_open"), Output("exams-flash", "data"),
        [Input(i, "value") for i in FILTER_IDS],
        Input("exams-search", "n_clicks"), Input("exams-q", "n_submit"), Input("exams-more", "n_clicks"),
        Input("exams-resync", "n_intervals"), Input("exams-refresh", "data"),
        [Input("exams-socket", f"data-{e}") for e in LIVE_EVENTS],
        State("exams-q", "value"), State("exams-rows", "data"), State("exams-cursor", "data"),
    )(_search)
    app.callback(
        Output("exams-table-wrap", "children"), Output("exams-count", "children"), Output("exams-more-wrap", "style"),
        Input("exams-rows", "data"), Input("exams-cursor", "data"), State("exams-flash", "data"),
    )(_render)
    app.callback(Output("exams-live", "className"), Output("exams-live", "title"),
                   Input("exams-socket", "connected"))(_live)
