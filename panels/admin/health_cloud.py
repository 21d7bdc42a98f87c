"""Admin page /admin/health-cloud (省健康云上传台账, issue 12 item 6): every study with its state on the cloud,
filters, retry / skip / add, the per-day volumes as a chart and the progress of running uploads.

Every callback is an API: it reads the signed-in user from the session and the service checks Perm.ADMIN.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, ctx, dcc, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.health_cloud import CLOUD_STATUS_LABELS, CloudStatus, OldLinkMatch
from backend.domain.permissions import Perm
from backend.services.health_cloud import ledger, old_links
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin import upload_ledger
from panels.admin.crud import alert, current_actor, error_alert
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/health-cloud"
TITLE = "省健康云上传"
ANY = "all"
COLORS = {CloudStatus.PENDING: "secondary", CloudStatus.REGISTERED: "info", CloudStatus.UPLOADING: "primary",
          CloudStatus.UPLOADED: "success", CloudStatus.FAILED: "danger", CloudStatus.EXPIRED: "dark",
          CloudStatus.SKIPPED: "light"}
RETRYABLE = {CloudStatus.FAILED.value, CloudStatus.EXPIRED.value}
SKIPPABLE = {CloudStatus.PENDING.value, CloudStatus.REGISTERED.value, CloudStatus.FAILED.value}
add_admin_link(PATH, TITLE)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("日期格式应为 年-月-日", code="invalid_date") from exc


def _short(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "—"


def _progress(r: dict[str, Any]) -> Any:
    running = r["status"] in (CloudStatus.REGISTERED.value, CloudStatus.UPLOADING.value)
    return upload_ledger.progress(r["files_done"], r["files_total"], running=running, failed=bool(r["files_refused"]))


def _reason(r: dict[str, Any]) -> Any:
    if not r["reason"]:
        return ""
    skipped = r["status"] == CloudStatus.SKIPPED.value
    parts: list[Any] = [html.Span(r["reason"], className="" if skipped else "text-danger")]
    if r["next_retry_at"]:
        parts += [html.Br(), html.Small(f"下次自动重试 {_short(r['next_retry_at'])}", className="text-muted")]
    if r["raw_answer"]:
        parts += [html.Details([html.Summary("云端原始应答", className="small"),
                                html.Pre(r["raw_answer"][:2000], className="small bg-light p-1 mb-0",
                                         style={"whiteSpace": "pre-wrap", "wordBreak": "break-all"})])]
    return html.Div(parts, style={"maxWidth": "22rem"})


def _buttons(r: dict[str, Any]) -> Any:
    out = []
    if r["status"] in RETRYABLE:
        label = "重新上传" if r["status"] == CloudStatus.EXPIRED.value else "重试"
        out.append(dbc.Button(label, id={"type": "hc-retry", "index": r["study_uid"]}, size="sm", color="warning",
                              n_clicks=0, className="me-1"))
    if r["status"] in SKIPPABLE:
        out.append(dbc.Button("跳过", id={"type": "hc-skip", "index": r["study_uid"]}, size="sm",
                              color="secondary", outline=True, n_clicks=0))
    return html.Div(out, className="text-nowrap")


def table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return dbc.Alert("没有符合条件的检查", color="info", id="hc-empty")
    titles = ("检查号", "患者 ID", "设备", "检查日期", "状态", "进度", "云端登记号", "旧平台记录", "原因", "云端到期",
              "")
    head = html.Thead(html.Tr([html.Th(t, className="text-nowrap") for t in titles]))
    body = html.Tbody([html.Tr([
        html.Td(r["accession"] or "—"), html.Td(r["patient_id"]), html.Td(r["modality"]),
        html.Td(r["study_date"] or "—", className="text-nowrap"),
        html.Td(dbc.Badge(r["status_text"], color=COLORS[CloudStatus(r["status"])],
                          text_color="dark" if r["status"] == CloudStatus.SKIPPED.value else None)),
        html.Td(_progress(r)), html.Td(html.Code(r["registration_id"]) if r["registration_id"] else "—"),
        html.Td(r["old_cloud_id"] or "—"), html.Td(_reason(r)),
        html.Td(_short(r["expires_at"]), className="text-nowrap"), html.Td(_buttons(r)),
    ], className="hc-row", **{"data-status": r["status"], "data-study": r["study_uid"]}) for r in rows])
    return dbc.Table([head, body], size="sm", hover=True, responsive=True, id="hc-rows",
                     className="bg-white small align-middle mb-0")


def chart(days: list[dict[str, Any]]) -> Any:
    x = [f"{date.fromisoformat(d['day']).month}/{date.fromisoformat(d['day']).day}" for d in days]
    fig = go.Figure([go.Bar(name="文件数", x=x, y=[d["files"] for d in days], yaxis="y"),
                     go.Scatter(name="数据量（MB）", x=x, y=[round(d["bytes"] / 2**20, 1) for d in days], yaxis="y2",
                                mode="lines+markers")])
    fig.update_layout(height=220, margin={"l": 40, "r": 40, "t": 10, "b": 30}, plot_bgcolor="white",
                      paper_bgcolor="white", legend={"orientation": "h", "y": -0.3},
                      yaxis={"title": "文件数"}, yaxis2={"title": "MB", "overlaying": "y", "side": "right"},
                      font={"family": "Noto Sans CJK SC, sans-serif"})
    return dcc.Graph(figure=fig, config={"displayModeBar": False}, id="hc-chart")


def _counts(counts: dict[str, int]) -> Any:
    return upload_ledger.state_counts([(CLOUD_STATUS_LABELS[CloudStatus(k)], n, COLORS[CloudStatus(k)])
                                       for k, n in counts.items()], "hc-counts")


def content(status: str | None, q: str | None, day_from: str | None, day_to: str | None,
            failing: list[str] | None) -> Any:
    try:
        svc, by = services(), current_actor()
        rows = ledger.list_ledger(svc, by=by, status=None if status in (None, "", ANY) else CloudStatus(status),
                                  text=q or "", day_from=_date(day_from), day_to=_date(day_to),
                                  failing=bool(failing), limit=300)
        counts = ledger.counts(svc, by=by)
        days = ledger.daily_volumes(svc, by=by, days=14)
    except DomainError as exc:
        return error_alert(exc, "hc-error")
    return html.Div([_counts(counts), chart(days), table(rows)])


def body(_actor: Any) -> Any:
    options = [{"label": "全部", "value": ANY}]
    options += [{"label": v, "value": k.value} for k, v in CLOUD_STATUS_LABELS.items()]
    filters = dbc.Row([
        dbc.Col([dbc.Label("状态", html_for="hc-status"), dbc.Select(id="hc-status", options=options, value=ANY)],
                md=2),
        dbc.Col([dbc.Label("检查号 / 患者 ID / UID", html_for="hc-q"),
                 dbc.Input(id="hc-q", maxLength=64, debounce=True)], md=3),
        dbc.Col([dbc.Label("检查日期"), dbc.InputGroup([dbc.Input(id="hc-from", type="date"),
                                                      dbc.Input(id="hc-to", type="date")], size="sm")], md=3),
        dbc.Col(dbc.Checklist(id="hc-failing", options=[{"label": "只看失败", "value": "1"}], value=[], switch=True),
                md=2),
        dbc.Col(dbc.Button("刷新", id="hc-refresh", color="primary", size="sm", outline=True, n_clicks=0), md=2),
    ], className="g-2 align-items-end mb-3")
    add = dbc.InputGroup([dbc.Input(id="hc-add-accession", placeholder="检查号", maxLength=32),
                          dbc.Button("手动加入上传", id="hc-add", n_clicks=0, color="secondary")], size="sm",
                         style={"maxWidth": "24rem"}, className="mb-3")
    intro = html.P("检查影像归档完成后按“运行参数 · 省健康云”中的规则登记并上传；失败的检查自动按退避时间重试，"
                   "也可手动重试或跳过。云端只保留三个月，到期后不再自动上传。", className="small text-muted")
    old = dbc.Card([
        dbc.CardHeader("旧平台登记与云端核对", className="fw-semibold"),
        dbc.CardBody([
            html.Div([dbc.Button("导入旧平台登记", id="hc-import", size="sm", color="secondary", n_clicks=0,
                                 className="me-2"),
                      dbc.Button("核对云端（预演）", id="hc-dry", size="sm", color="info", outline=True, n_clicks=0,
                                 className="me-2"),
                      dbc.Button("核对并更新台账", id="hc-apply", size="sm", color="warning", outline=True,
                                 n_clicks=0)],
                     className="mb-2"),
            html.Div(old_and_reconcile(), id="hc-old")])], className="shadow-sm mt-3")
    return html.Div([intro, filters, add, html.Div(id="hc-flash"),
                     dcc.Store(id="hc-changed", data=0), dcc.Interval(id="hc-tick", interval=10_000),
                     html.Div(content(ANY, "", None, None, []), id="hc-content"), old])


MATCH_TEXT = {OldLinkMatch.STUDY_UID.value: "按 Study UID", OldLinkMatch.ACCESSION.value: "按检查号",
              OldLinkMatch.PATIENT.value: "按患者与日期", OldLinkMatch.CONFLICT.value: "冲突",
              OldLinkMatch.NONE.value: "未匹配"}
MATCH_COLOR = {OldLinkMatch.CONFLICT.value: "danger", OldLinkMatch.NONE.value: "secondary"}


def links_table(links: list[dict[str, Any]]) -> Any:
    if not links:
        return html.Div("尚未导入旧平台登记记录", className="text-muted small", id="hc-links-empty")
    rows = [html.Tr([html.Td(x["old_cloud_id"]), html.Td(x["accession"] or "—"), html.Td(x["patient_id"]),
                     html.Td(x["study_date"] or "—"),
                     html.Td(dbc.Badge(MATCH_TEXT.get(str(x["matched_by"]), str(x["matched_by"])),
                                       color=MATCH_COLOR.get(str(x["matched_by"]), "success"))),
                     html.Td(x["exam_accession"] or "—"), html.Td(x["note"])], className="hc-link")
            for x in links[:200]]
    titles = ("旧平台记录", "检查号", "患者 ID", "检查日期", "匹配", "对应检查", "说明")
    head = html.Thead(html.Tr([html.Th(t) for t in titles]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", id="hc-links", className="bg-white small mb-0")


def reconcile_view(result: dict[str, Any]) -> Any:
    title = "核对预演（未修改台账）" if result["dry_run"] else "核对完成"
    items = [html.Li(f"{c['accession'] or c['study_uid']}：{c['from']} → {c['to']}，{c['reason']}")
             for c in result["changes"]] or [html.Li("台账与云端一致")]
    extra = f"；云端另有 {len(result['unknown_on_cloud'])} 个台账中没有的检查" if result["unknown_on_cloud"] else ""
    return html.Div([html.Div(f"{title}：云端共 {result['cloud_studies']} 个检查{extra}", className="fw-semibold"),
                     html.Ul(items, className="small mb-0")], id="hc-reconcile-result")


def old_and_reconcile(action: str | None = None) -> Any:
    """The old registrations' links and conflicts (HC-8), and the reconcile result (HC-9) when asked."""
    try:
        svc, by = services(), current_actor()
        head: Any = ""
        if action == "import":
            counts = old_links.import_old(svc, by=by)
            head = alert("已导入旧平台登记：" + "，".join(f"{MATCH_TEXT[k]} {n}" for k, n in counts.items()), True,
                         "hc-import-msg")
        elif action in ("dry", "apply"):
            head = reconcile_view(old_links.reconcile(svc, by=by, dry_run=action == "dry"))
        return html.Div([head, links_table(old_links.list_links(svc, by=by))])
    except DomainError as exc:
        return error_alert(exc, "hc-old-error")


def _old(_i: Any, _d: Any, _a: Any) -> Any:
    trigger = ctx.triggered_id
    action = {"hc-import": "import", "hc-dry": "dry", "hc-apply": "apply"}.get(str(trigger))
    return old_and_reconcile(action) if action else dash.no_update


def _act(_r: Any, _s: Any, _a: Any, accession: str | None, changed: int) -> tuple[Any, Any]:
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered[0]["value"]:
        return dash.no_update, dash.no_update
    try:
        svc, by = services(), current_actor()
        if trigger == "hc-add":
            view = ledger.add(svc, accession=(accession or "").strip(), by=by)
            text = f"已加入上传：{view['accession']}"
        elif isinstance(trigger, dict) and trigger.get("type") == "hc-retry":
            view = ledger.retry(svc, str(trigger["index"]), by=by)
            text = f"已重新排队：{view['accession']}"
        elif isinstance(trigger, dict) and trigger.get("type") == "hc-skip":
            view = ledger.skip(svc, str(trigger["index"]), by=by)
            text = f"已跳过：{view['accession']}"
        else:
            return dash.no_update, dash.no_update
    except DomainError as exc:
        return error_alert(exc, "hc-msg"), dash.no_update
    return alert(text, True, "hc-msg"), (changed or 0) + 1


def _callbacks(app: Any) -> None:
    app.callback(Output("hc-content", "children"), Input("hc-refresh", "n_clicks"), Input("hc-tick", "n_intervals"),
                 Input("hc-changed", "data"), Input("hc-status", "value"), Input("hc-q", "value"),
                 Input("hc-from", "value"), Input("hc-to", "value"), Input("hc-failing", "value"),
                 prevent_initial_call=True)(
        lambda _n, _t, _c, status, q, day_from, day_to, failing: content(status, q, day_from, day_to, failing))
    app.callback(Output("hc-flash", "children"), Output("hc-changed", "data"),
                 Input({"type": "hc-retry", "index": ALL}, "n_clicks"),
                 Input({"type": "hc-skip", "index": ALL}, "n_clicks"), Input("hc-add", "n_clicks"),
                 State("hc-add-accession", "value"), State("hc-changed", "data"), prevent_initial_call=True)(_act)
    app.callback(Output("hc-old", "children"), Input("hc-import", "n_clicks"), Input("hc-dry", "n_clicks"),
                 Input("hc-apply", "n_clicks"), prevent_initial_call=True)(_old)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, TITLE, body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, TITLE, layout, _callbacks)
