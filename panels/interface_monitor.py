"""The interface monitor (接口监控): every HL7 message with the health-check center, in and out, with its ACK
and reason; the raw message (masked unless the reader is an admin); re-process, match by hand, send again.

Every callback is an API: it reads the signed-in user from the session and the service checks the
permission for the message it is given; nothing the page keeps in the browser grants anything.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html

from backend.domain.actor import Actor
from backend.domain.errors import DomainError, InvalidInput
from backend.domain.interface_monitor import DIRECTION_LABELS, STATE_LABELS, MessageState, reason_label
from backend.domain.permissions import Perm
from backend.services.orders import interface_monitor as monitor
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.shell import EXPIRED, staff_page

ACCESS = staff(monitor.VIEW)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/interfaces"
STATE_COLORS = {MessageState.ACCEPTED: "success", MessageState.REFUSED: "danger", MessageState.RESOLVED: "info",
                MessageState.QUEUED: "warning", MessageState.SENT: "success", MessageState.DEAD: "danger"}
SHORT_DIRECTION = {"in": "接收", "out": "发送"}
ACK_COLORS = {"AA": "success", "AE": "warning", "AR": "danger"}
ANY = "all"
ALL_OPTION = [{"label": "全部", "value": ANY}]


def _pick(value: str | None) -> str | None:
    return None if value in (None, "", ANY) else value


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("日期格式应为 年-月-日", code="invalid_date") from exc


def _filters() -> Any:
    def select(id_: str, label: str, options: list[dict[str, str]]) -> Any:
        return dbc.Col([dbc.Label(label, html_for=id_), dbc.Select(id=id_, options=ALL_OPTION + options, value=ANY)],
                       md=2)

    return dbc.Card(dbc.CardBody(dbc.Row([
        select("ifm-direction", "方向", [{"label": v, "value": k.value} for k, v in DIRECTION_LABELS.items()]),
        select("ifm-state", "状态", [{"label": v, "value": k.value} for k, v in STATE_LABELS.items()]),
        select("ifm-ack", "应答", [{"label": c, "value": c} for c in ("AA", "AE", "AR")]),
        dbc.Col([dbc.Label("原因", html_for="ifm-reason"), dbc.Select(id="ifm-reason", options=ALL_OPTION, value=ANY)],
                md=2),
        dbc.Col([dbc.Label("日期"), dbc.InputGroup([dbc.Input(id="ifm-from", type="date"),
                                                    dbc.Input(id="ifm-to", type="date")], size="sm")], md=2),
        dbc.Col([dbc.Label("控制号 / 申请单号 / 检查号", html_for="ifm-q"),
                 dbc.InputGroup([dbc.Input(id="ifm-q", maxLength=64, debounce=True),
                                 dbc.Button("查询", id="ifm-search", n_clicks=0, color="primary")], size="sm")], md=2),
    ], className="g-2 align-items-end")), className="mb-3")


def _table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return dbc.Alert("没有符合条件的接口消息", color="info", id="ifm-empty")
    titles = ("时间", "方向", "类型", "控制号", "申请单号", "应答", "原因", "状态", "检查号", "次数", "")
    head = html.Thead(html.Tr([html.Th(h, className="text-nowrap") for h in titles]))
    body = html.Tbody([html.Tr([
        html.Td(r["at"], className="text-nowrap"), html.Td(SHORT_DIRECTION[r["direction"]]),
        html.Td(r["message_type"], className="text-nowrap"),
        html.Td(html.Code(r["control_id"])), html.Td(r["placer_order_no"]),
        html.Td(dbc.Badge(r["ack"], color=ACK_COLORS.get(r["ack"], "secondary")) if r["ack"] else "—"),
        html.Td(r["reason_label"] or r["first_reason_label"], className="ifm-reason"),
        html.Td(dbc.Badge(r["state_label"], color=STATE_COLORS[MessageState(r["state"])])),
        html.Td(r["accession"]), html.Td(r["attempts"] or ""),
        html.Td(dbc.Button("查看", id={"type": "ifm-open", "index": r["id"]}, size="sm", color="link", n_clicks=0,
                           className="text-nowrap p-0")),
    ], className="ifm-row", **{"data-state": r["state"]}) for r in rows])
    return dbc.Table([head, body], size="sm", hover=True, id="ifm-rows", className="bg-white small")


def _fact(label: str, value: Any) -> Any:
    return html.Div([html.Span(label, className="text-muted me-2"), html.Span(value or "—")], className="me-4")


HIDDEN, SHOWN = {"display": "none"}, {}


def _action_blocks() -> Any:
    """The action controls, always in the page (a callback's inputs must exist); shown for the message open."""
    return html.Div([
        html.Div([
            html.P("原因修正后（如在系统管理中新增检查项目）可重新处理；或手工匹配到患者（病案号）或已登记的检查（检查号）。",
                   className="small text-muted mb-2"),
            dbc.Row([
                dbc.Col(dbc.Button("重新处理", id="ifm-reprocess", color="primary", n_clicks=0), width="auto"),
                dbc.Col(dbc.InputGroup([dbc.Input(id="ifm-mrn", placeholder="病案号", maxLength=32),
                                        dbc.Button("匹配患者", id="ifm-match-patient", n_clicks=0)]), md=5),
                dbc.Col(dbc.InputGroup([dbc.Input(id="ifm-accession", placeholder="检查号", maxLength=32),
                                        dbc.Button("匹配检查", id="ifm-match-exam", n_clicks=0)]), md=5),
            ], className="g-2"),
        ], id="ifm-refused-actions", style=HIDDEN),
        html.Div(dbc.Button("重新发送", id="ifm-resend", color="warning", n_clicks=0), id="ifm-dead-actions",
                 style=HIDDEN),
    ], className="mt-2")


def _visibility(view: dict[str, Any] | None, actor: Actor) -> tuple[dict[str, str], dict[str, str]]:
    state = MessageState(view["state"]) if view else None
    refused = SHOWN if state is MessageState.REFUSED else HIDDEN
    dead = SHOWN if state is MessageState.DEAD and actor.can(Perm.ADMIN) else HIDDEN
    return refused, dead


def _detail(view: dict[str, Any] | None, actor: Actor) -> Any:
    if view is None:
        return html.Div("点击列表中的“查看”显示消息原文与处理操作。", className="text-muted small",
                        id="ifm-detail-empty")
    state = MessageState(view["state"])
    facts = [_fact("方向", view["direction_label"]), _fact("类型", view["message_type"]),
             _fact("控制号", view["control_id"]), _fact("申请单号", view["placer_order_no"]),
             _fact("字符集", view["charset"] or "（未声明，按 UTF-8）"), _fact("对方", view["partner"]),
             _fact("检查号", view["accession"]), _fact("状态", view["state_label"])]
    lines = [html.Div(facts, className="d-flex flex-wrap mb-2")]
    if view["ack"]:
        lines.append(html.Div([html.Span("应答", className="text-muted me-2"),
                               dbc.Badge(view["ack"], color=ACK_COLORS.get(view["ack"], "secondary"), className="me-2"),
                               html.Span(view["ack_text"], id="ifm-ack-text")], className="mb-2"))
    if view["first_reason"] and state is not MessageState.REFUSED:
        lines.append(html.Div(f"初次拒收原因：{reason_label(view['first_reason'])}（{view['first_reason']}）",
                              className="small mb-1"))
    if view["handled_by"]:
        lines.append(html.Div(f"处理：{view['note']}（{view['handled_by']} {view['handled_at']}）",
                              className="small mb-1", id="ifm-handled"))
    if view["last_error"]:
        lines.append(html.Div(f"最近错误：{view['last_error']}", className="small text-danger mb-1"))
    if view["next_try_at"]:
        lines.append(html.Div(f"下次重试：{view['next_try_at']}", className="small mb-1"))
    note = "原文（已脱敏：姓名、证件号、电话已隐藏；仅系统管理员可查看完整原文）" if view["masked"] else "原文"
    text = view["text"].replace("\r", "\n") or "（尚未发送）"
    lines += [html.Div(f"{note}，{view['size']} 字节", className="small text-muted mt-2"),
              html.Pre(_shorten(text), className="ifm-raw bg-light border p-2 small", id="ifm-raw",
                       style={"whiteSpace": "pre-wrap", "wordBreak": "break-all", "maxHeight": "24rem"})]
    return dbc.Card(dbc.CardBody(lines), id="ifm-detail-card")


def _shorten(text: str) -> str:
    """A PDF sent as base64 is long: show its head and size, not 100 kB of letters."""
    out = []
    for line in text.split("\n"):
        out.append(line if len(line) <= 400 else f"{line[:200]}…（共 {len(line)} 字符）")
    return "\n".join(out)


def _body(actor: Actor) -> Any:
    return html.Div([
        html.Div([html.H4("接口监控", className="mb-0 me-3"),
                  html.Span("体检中心 HL7 接口：收到的每条申请单及应答（含拒收原因），发回的每份报告结果。",
                            className="small text-muted")], className="d-flex align-items-baseline mb-3"),
        _filters(),
        html.Div(id="ifm-flash"),
        dbc.Row([dbc.Col(html.Div(id="ifm-list"), lg=7),
                 dbc.Col([html.Div(_detail(None, actor), id="ifm-detail"), _action_blocks()], lg=5)]),
        dcc.Store(id="ifm-selected"), dcc.Store(id="ifm-changed", data=0),
        dcc.Interval(id="ifm-refresh", interval=30_000),
    ])


def layout(**_query: Any) -> Any:
    return staff_page(monitor.VIEW, PATH, _body)


def _list(_n: Any, _i: Any, _changed: Any, direction: str, state: str, ack: str, reason: str, q: str,
          day_from: str, day_to: str) -> tuple[Any, Any]:
    """Draw the filtered list (and the reasons seen so far)."""
    actor = page_actor()
    if actor is None or not actor.can(monitor.VIEW):
        return dbc.Alert(EXPIRED, color="warning"), dash.no_update
    try:
        rows = monitor.list_messages(services(), by=actor, direction=_pick(direction), state=_pick(state),
                                     ack=_pick(ack), reason=_pick(reason), q=q, day_from=_date(day_from),
                                     day_to=_date(day_to), limit=300)
        reasons = monitor.reasons(services(), by=actor)
    except (DomainError, ValueError) as exc:
        return dbc.Alert(getattr(exc, "message", "筛选条件无效"), color="danger"), dash.no_update
    return _table(rows), ALL_OPTION + [{"label": reason_label(r), "value": r} for r in reasons]


def _act(actor: Actor, trigger: str, message_id: int, mrn: str | None, accession: str | None) -> tuple[str, Any]:
    svc = services()
    if trigger == "ifm-reprocess":
        view = monitor.reprocess(svc, message_id, by=actor)
    elif trigger == "ifm-match-patient":
        view = monitor.match_patient(svc, message_id, mrn=mrn or "", by=actor)
    elif trigger == "ifm-match-exam":
        view = monitor.match_exam(svc, message_id, accession=accession or "", by=actor)
    else:
        view = monitor.resend(svc, message_id, by=actor)
    if view["state"] == MessageState.REFUSED.value:
        return f"仍被拒收：{view['reason_label']}（{view['note']}）", view
    return f"处理成功：{view['note'] or view['state_label']}", view


def _detail_update(_open: Any, _r: Any, _p: Any, _e: Any, _s: Any, selected: int | None, mrn: str | None,
                   accession: str | None, changed: int) -> tuple[Any, ...]:
    """Open a message, or act on the open one; the service re-checks the role and the message's state."""
    keep = (dash.no_update,) * 6
    actor = page_actor()
    if actor is None or not actor.can(monitor.VIEW):
        return (dash.no_update, dbc.Alert(EXPIRED, color="warning"), *keep[2:])
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered[0]["value"]:
        return keep
    try:
        if isinstance(trigger, dict):
            view = monitor.detail(services(), int(trigger["index"]), by=actor)
            return (_detail(view, actor), None, view["id"], dash.no_update, *_visibility(view, actor))
        if selected is None:
            return (dash.no_update, dbc.Alert("请先选择消息", color="warning"), *keep[2:])
        text, view = _act(actor, str(trigger), int(selected), mrn, accession)
    except DomainError as exc:
        return (dash.no_update, dbc.Alert(exc.message, color="danger", id="ifm-msg"), *keep[2:])
    color = "warning" if view["state"] == MessageState.REFUSED.value else "success"
    return (_detail(view, actor), dbc.Alert(text, color=color, id="ifm-msg"), dash.no_update, (changed or 0) + 1,
            *_visibility(view, actor))


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="接口监控 - RadOps", name="接口监控", layout=layout)
    app.callback(Output("ifm-list", "children"), Output("ifm-reason", "options"),
                 Input("ifm-search", "n_clicks"), Input("ifm-refresh", "n_intervals"), Input("ifm-changed", "data"),
                 Input("ifm-direction", "value"), Input("ifm-state", "value"), Input("ifm-ack", "value"),
                 Input("ifm-reason", "value"), Input("ifm-q", "value"), Input("ifm-from", "value"),
                 Input("ifm-to", "value"))(_list)
    app.callback(Output("ifm-detail", "children"), Output("ifm-flash", "children"),
                 Output("ifm-selected", "data"), Output("ifm-changed", "data"),
                 Output("ifm-refused-actions", "style"), Output("ifm-dead-actions", "style"),
                 Input({"type": "ifm-open", "index": ALL}, "n_clicks"),
                 Input("ifm-reprocess", "n_clicks"), Input("ifm-match-patient", "n_clicks"),
                 Input("ifm-match-exam", "n_clicks"), Input("ifm-resend", "n_clicks"),
                 State("ifm-selected", "data"), State("ifm-mrn", "value"), State("ifm-accession", "value"),
                 State("ifm-changed", "data"), prevent_initial_call=True)(_detail_update)
