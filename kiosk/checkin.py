"""The self check-in page (/kiosk/<terminal>): identify by barcode, e-voucher QR or MRN keypad; list
today's exams; check in all eligible at once; show each result; back to start when idle (KI-1..11)."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html

from backend.domain.actor import Actor
from backend.domain.checkin import Refusal
from backend.domain.errors import DomainError, Unauthenticated
from backend.domain.queue_flow import MISSED_INSTRUCTION
from backend.services.patient_flow import checkin, kiosks
from backend.web import enrolment
from backend.web.callback_guard import device
from backend.web.context import device_actor, kiosk_throttle, services
from backend.web.sealed import seal, unseal

ACCESS = device("kiosk")  # who may call this page's callbacks (backend/web/callback_guard.py)

MODES = {"barcode": "扫描条码", "evoucher": "医保电子凭证", "mrn": "输入病案号"}
HINTS = {"barcode": "请将检查单或就诊卡条码对准扫描口", "evoucher": "请打开医保电子凭证二维码，对准扫描口",
         "mrn": "请在下方键盘输入病案号，然后按“确定”"}
# Four columns: digits, and the `TJ` prefix of the health-check centre's MRNs (TJ00001234); 确定 closes the pad.
KEYS = ["1", "2", "3", "TJ", "4", "5", "6", "删除", "7", "8", "9", "清空", "0"]
ALREADY = Refusal.ALREADY_CHECKED_IN.value


def _mode_classes(active: str) -> list[str]:
    return ["kiosk-btn active" if m == active else "kiosk-btn" for m in MODES]


def _mode_buttons(active: str) -> list[Any]:
    return [html.Button(label, id=f"kiosk-mode-{m}", n_clicks=0, className=cls)
            for (m, label), cls in zip(MODES.items(), _mode_classes(active), strict=True)]


def _identify_panel() -> Any:
    # 确定 sits in the keypad's last row, so the pad and its main action fit the shortest screen (issue 14.5).
    keypad = html.Div([
        html.Div("", id="kiosk-mrn", className="kiosk-mrn"),
        html.Div([*[html.Button(k, id={"type": "kiosk-key", "key": k}, n_clicks=0, className="kiosk-key")
                    for k in KEYS],
                  html.Button("确定", id="kiosk-mrn-ok", n_clicks=0, className="kiosk-key kiosk-key-ok")],
                 className="kiosk-keypad"),
    ], id="kiosk-pad", style={"display": "none"})
    return html.Div([
        html.Div(_mode_buttons("barcode"), id="kiosk-modes", className="kiosk-modes"),
        html.Div(HINTS["barcode"], id="kiosk-hint", className="kiosk-hint"),
        dcc.Input(id="kiosk-scan", type="text", autoFocus=True, debounce=False, n_submit=0, value="",
                  autoComplete="off", className="kiosk-input", placeholder="等待扫码……"),
        keypad,
    ], className="kiosk-identify")


def layout(terminal: str | None = None, **_: Any) -> Any:
    """The whole kiosk screen for one terminal, styled by its display profile."""
    try:
        info = kiosks.terminal_info(services(), terminal or "")
    except DomainError as exc:
        return html.Div([html.Link(rel="stylesheet", href="/static/kiosk.css"),
                         html.Div(exc.message, className="kiosk-error")], className="kiosk")
    if (not_enrolled := enrolment.gate("kiosk", info["code"], path=f"/kiosk/{info['code']}")) is not None:
        return not_enrolled  # only the device an admin enrolled as this kiosk shows it (issue 14.2)
    return html.Div([
        html.Link(rel="stylesheet", href="/static/kiosk.css"),
        dcc.Store(id="kiosk-terminal", data=info["code"]),
        dcc.Store(id="kiosk-mode", data="barcode"),
        dcc.Store(id="kiosk-found", data=None),
        dcc.Store(id="kiosk-activity", data=0),
        dcc.Store(id="kiosk-last", data=0),
        dcc.Store(id="kiosk-idle-seconds", data=info["idle_seconds"]),
        dcc.Store(id="kiosk-timeout", data=0),
        dcc.Interval(id="kiosk-tick", interval=1000),
        html.Div([html.Div([html.H1("自助签到"), html.Div(f"{info['campus']} · {info['name']}",
                                                        className="kiosk-sub")]),
                  html.Div(info["scope"], className="kiosk-sub", id="kiosk-scope")], className="kiosk-head"),
        html.Div([
            _identify_panel(),
            # The list scrolls in its own frame; the actions below it never leave the screen (issue 14.5).
            html.Div([html.Div(_welcome(), id="kiosk-view", className="kiosk-list"),
                      html.Div([html.Button("全部签到", id="kiosk-checkin", n_clicks=0, disabled=True,
                                            className="kiosk-btn kiosk-btn-go", style={"display": "none"}),
                                html.Button("返回首页", id="kiosk-home", n_clicks=0, className="kiosk-btn w-100")],
                               className="kiosk-actions")], className="kiosk-side"),
        ], className="kiosk-body"),
    ], className=f"kiosk kiosk-{info['profile']}", id="kiosk-root")


def _welcome() -> Any:
    return html.Div([html.Div("请选择签到方式", className="kiosk-where"),
                     html.Div("扫描检查单条码、出示医保电子凭证，或输入病案号。", className="kiosk-hint")])


def _slip_link(terminal: str, ticket: dict[str, Any]) -> Any:
    return html.A("打印凭条", href=f"/kiosk/{terminal}/ticket/{ticket['ticket_id']}", target="_blank",
                  className="kiosk-btn kiosk-btn-primary mt-2 text-decoration-none kiosk-print")


def _where(r: dict[str, Any]) -> str:
    t = r["ticket"]
    return f"请到 {t['room_name'] or t['queue_name']} 候检 · 前面还有 {r['people_ahead']} 人"


def _exam_state(e: dict[str, Any], terminal: str) -> Any:
    """可以签到; a checked-in exam in green with its number (and its slip again); else the reason."""
    if e["ok"]:
        return html.Div("可以签到", className="kiosk-state-ok")
    if e["reason"] == ALREADY and e.get("ticket"):
        return html.Div([html.Div(f"已签到 {e['ticket']['code']}", className="kiosk-state-ok kiosk-done-code"),
                         html.Div(_where(e), className="meta"), _slip_link(terminal, e["ticket"])],
                        className="kiosk-state-done")
    if e["reason"] == ALREADY:
        return html.Div("已签到", className="kiosk-state-ok")
    return html.Div(e["message"], className="kiosk-state-bad")


def _exam_list(found: dict[str, Any], terminal: str) -> Any:
    def cls(e: dict[str, Any]) -> str:
        return "ok" if e["ok"] else ("again" if e["reason"] == ALREADY else "bad")

    rows = [html.Div([
        html.Div([html.Div(e["item"], className="name"),
                  html.Div(f"{e['scheduled'] or '当日'} · {e['status_label']}", className="meta")]),
        _exam_state(e, terminal),
    ], className=f"kiosk-exam {cls(e)}") for e in found["exams"]]
    return html.Div([html.Div(f"{found['masked_name']}，您今天的检查：", className="kiosk-where"),
                     *(rows or [html.Div("今天没有待签到的检查", className="kiosk-hint")])], id="kiosk-exams")


def _results(out: dict[str, Any], terminal: str) -> Any:
    cards = []
    def good(r: dict[str, Any]) -> bool:
        return bool(r["ok"] or (r["reason"] == ALREADY and r.get("ticket")))

    for r in sorted(out["results"], key=lambda r: not good(r)):  # successes first, the most prominent
        if good(r):
            t = r["ticket"]
            cards.append(html.Div([
                html.Div(f"✔ {r['item']} {'签到成功' if r['ok'] else '已签到'}", className="kiosk-where"),
                html.Div(t["code"], className="kiosk-number kiosk-ticket-code"),
                html.Div(_where(r), className="kiosk-where"),
                _slip_link(terminal, t),
            ], className="kiosk-result ok"))
        else:
            cards.append(html.Div([html.Div(f"✘ {r['item']} 未能签到", className="kiosk-where"),
                                   html.Div(r["message"], className="kiosk-reason")], className="kiosk-result"))
    return html.Div([html.Div(f"{out['masked_name']}，签到结果：", className="kiosk-where"), *cards,
                     html.Div(f"听到叫号请到对应诊室检查；{MISSED_INSTRUCTION}", className="kiosk-hint")],
                    id="kiosk-results")


def _keypad(text: str, key: str) -> str:
    if key == "清空":
        return ""
    if key == "删除":
        return text[:-1]
    return (text + key)[:20]


# Keep the scanner's field focused (a keyboard-wedge scanner types into whatever has focus).
FOCUS_JS = """function(a, mode) { setTimeout(function() { var el = document.getElementById('kiosk-scan');
        if (el && mode !== 'mrn') { el.focus(); } }, 50); return Date.now(); }"""
# Back to the start screen after `kiosk.idle_seconds` without a touch or a scan.
IDLE_JS = """function(n, last, idle, found) { var since = Date.now() - (last || Date.now());
        var home = !document.getElementById('kiosk-results') && !document.getElementById('kiosk-exams')
                   && !document.getElementById('kiosk-message');
        if (!home && since > idle * 1000) { return Date.now(); }
        return window.dash_clientside.no_update; }"""


HOME: dict[str, Any] = {"view": None, "found": None, "mode": "barcode", "scan": "", "mrn": ""}


def _kiosk() -> Actor:
    """The enrolled kiosk calling (the callback guard admits no one else); never the page's terminal state."""
    dev = device_actor()
    if dev is None or dev.kind != "kiosk":
        raise Unauthenticated("本设备未启用", code="device_not_enrolled")
    return dev


# How long an identified patient's code may wait for 全部签到 (sealed in the page, never readable there).
FOUND_MAX_AGE_S = 600


def _lookup(terminal: str, mode: str, code: str) -> tuple[Any, Any]:
    """(view, found) after identifying a patient; an unknown code shows its reason in plain Chinese."""
    svc = services()
    try:
        kiosk_throttle(terminal)
        found = checkin.lookup(svc, terminal, mode, code, by=_kiosk())
    except DomainError as exc:
        return html.Div(exc.message, className="kiosk-error", id="kiosk-message"), None
    return _exam_list(found, terminal), found


def _client_found(found: dict[str, Any], method: str, code: str, terminal: str) -> dict[str, Any]:
    """What the page keeps: display fields and a sealed token; no accession, exam id or voucher payload."""
    keep = ("item", "scheduled", "status_label", "ok", "message")
    return {"masked_name": found["masked_name"], "exams": [{k: e[k] for k in keep} for e in found["exams"]],
            "token": seal({"method": method, "code": code, "terminal": terminal}, purpose="kiosk-found")}


def _check_in(terminal: str, found: dict[str, Any]) -> Any:
    svc = services()
    sealed = unseal(str(found.get("token", "")), purpose="kiosk-found", max_age_s=FOUND_MAX_AGE_S)
    if sealed is None or sealed.get("terminal") != terminal:
        return html.Div("操作超时，请重新扫码", className="kiosk-error", id="kiosk-message")
    try:
        kiosk_throttle(terminal)
        out = checkin.check_in(svc, terminal, sealed["method"], sealed["code"], by=_kiosk())
    except DomainError as exc:
        return html.Div(exc.message, className="kiosk-error", id="kiosk-message")
    return _results(out, terminal)


def _step(trigger: Any, st: dict[str, Any], terminal: str) -> dict[str, Any]:
    """One user action (or the idle timeout) applied to the screen state."""
    if trigger in ("kiosk-home", "kiosk-timeout"):
        return dict(HOME)
    if isinstance(trigger, str) and trigger.startswith("kiosk-mode-"):
        return {**HOME, "mode": trigger.removeprefix("kiosk-mode-")}
    if isinstance(trigger, dict):
        return {**st, "mrn": _keypad(st["mrn"], trigger["key"])}
    if trigger in ("kiosk-scan", "kiosk-mrn-ok"):
        code = (st["mrn"] if trigger == "kiosk-mrn-ok" else st["scan"]).strip()
        method = "mrn" if trigger == "kiosk-mrn-ok" else st["mode"]
        view, found = _lookup(terminal, method, code)
        if found is not None:
            found = _client_found(found, method, code, terminal)
        return {**st, "view": view, "found": found, "scan": "", "mrn": ""}
    if trigger == "kiosk-checkin" and st["found"]:
        return {**st, "view": _check_in(terminal, st["found"]), "found": None}
    return st


def kiosk_main(*args: Any) -> tuple[Any, ...]:
    """Every kiosk action in one place: the screen is a small state machine."""
    scan, mrn, mode, found, _state_terminal, activity = args[-6:]
    terminal = _kiosk().name  # the enrolled device's terminal, whatever the page's state says
    if ctx.triggered_id == "kiosk-timeout" and not args[4]:
        return (dash.no_update,) * 14
    st = _step(ctx.triggered_id, {"view": dash.no_update, "found": found, "mode": mode or "barcode",
                                  "scan": scan or "", "mrn": mrn or ""}, terminal)
    view = _welcome() if st["view"] is None else st["view"]
    can = bool(st["found"] and any(e["ok"] for e in st["found"]["exams"]))
    return (view, st["found"], st["mode"], st["scan"], st["mrn"], (activity or 0) + 1, not can,
            {"display": "block" if st["found"] else "none"}, {"display": "block" if st["mode"] == "mrn" else "none"},
            HINTS[st["mode"]], *_mode_classes(st["mode"]), {"display": "none" if st["mode"] == "mrn" else "block"})


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path_template="/kiosk/<terminal>", title="自助签到", name="自助签到",
                       layout=layout)
    app.callback(
        Output("kiosk-view", "children"), Output("kiosk-found", "data"), Output("kiosk-mode", "data"),
        Output("kiosk-scan", "value"), Output("kiosk-mrn", "children"), Output("kiosk-activity", "data"),
        Output("kiosk-checkin", "disabled"), Output("kiosk-checkin", "style"), Output("kiosk-pad", "style"),
        Output("kiosk-hint", "children"), *[Output(f"kiosk-mode-{m}", "className") for m in MODES],
        Output("kiosk-scan", "style"),
        Input("kiosk-scan", "n_submit"), Input("kiosk-mrn-ok", "n_clicks"), Input("kiosk-checkin", "n_clicks"),
        Input("kiosk-home", "n_clicks"), Input("kiosk-timeout", "data"),
        Input({"type": "kiosk-key", "key": ALL}, "n_clicks"),
        *[Input(f"kiosk-mode-{m}", "n_clicks") for m in MODES],
        State("kiosk-scan", "value"), State("kiosk-mrn", "children"), State("kiosk-mode", "data"),
        State("kiosk-found", "data"), State("kiosk-terminal", "data"), State("kiosk-activity", "data"),
        prevent_initial_call=True,
    )(kiosk_main)
    app.clientside_callback(FOCUS_JS, Output("kiosk-last", "data"), Input("kiosk-activity", "data"),
                            Input("kiosk-mode", "data"))
    app.clientside_callback(IDLE_JS, Output("kiosk-timeout", "data"), Input("kiosk-tick", "n_intervals"),
                            State("kiosk-last", "data"), State("kiosk-idle-seconds", "data"),
                            State("kiosk-found", "data"))
