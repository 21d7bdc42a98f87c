"""What the cockpit page shows: tiles, charts and the long-wait list from the service's figures,
and the drill-down table (callbacks only translate; the numbers come from services.cockpit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ctx, html, no_update
from dash.exceptions import PreventUpdate

from backend.domain.errors import DomainError
from backend.domain.metrics import DEFAULT_SCOPE
from backend.services.cockpit import board
from backend.services.cockpit import drill as cockpit_drill
from backend.web.context import page_actor, services
from dashboards.cockpit_charts import CHARTS as CHART_FUNCS

TILES = [("CP-1", "本月CT完成量"), ("CP-2", "本月MR完成量"), ("CP-7", "今日亚专科预约"),
         ("CP-8", "本月危急值"), ("CP-9", "危急值及时通知率"), ("CP-10", "及时通知率同比")]
# (figure, title, grid span); the long-wait list sits between the two chart rows.
CHARTS = [("CP-3", "CT检查类别占比", 2), ("CP-4", "MR检查类别占比", 2), ("CP-5", "DR·钼靶·胃肠造影", 2),
          ("CP-6", "DR·钼靶·胃肠造影同比", 3), ("CP-11", "近6个月CT报告审核量", 3),
          ("CP-12", "近6个月MR报告审核量", 3), ("CP-13", "近7天门诊业务量", 3), ("CP-14", "近7天住院业务量", 3)]
# Which reading (describe()["readings"]) each panel states under its title.
READS = {"CP-1": ("completion", "last_year"), "CP-2": ("completion", "last_year"), "CP-3": ("completion",),
         "CP-4": ("completion",), "CP-5": ("completion",), "CP-6": ("completion", "last_year"),
         "CP-7": ("booking",), "CP-8": ("critical",), "CP-9": ("critical",), "CP-10": ("critical", "last_year"),
         "CP-13": ("booking",), "CP-14": ("booking",)}
# The figure's definition, one click away on the tile (docs/metrics.md is the full text).
DEFINITIONS = {
    "CP-1": "本月（1日0点至今，医院本地时间）首次审核（或按设置：开始检查）的CT检查数；"
            "去年同期为去年同月1日至同一时刻；同比＝(本期−去年)/去年，去年为0时显示“—”。",
    "CP-2": "同CP-1，设备为MR。",
    "CP-3": "CP-1按检查类别（常规、亚专科、GCP）拆分，各类别占本月CT完成量的比例。",
    "CP-4": "CP-2按检查类别拆分，各类别占本月MR完成量的比例。",
    "CP-5": "本月DR、钼靶、胃肠造影的完成量，“完成”口径同CP-1。",
    "CP-6": "CP-5三类设备各自与去年同期比较。",
    "CP-7": "亚专科检查中预约在今日（或按设置：今日新登记）的数量，不含已取消，按设备。",
    "CP-8": "本月上报的危急值；及时＝通知时间−上报时间≤时限（恰好时限也算）；超时含已过时限仍未通知；"
            "待通知＝未通知且未过时限。",
    "CP-9": "及时数 ÷（及时＋超时）；仍在时限内的待通知不计入；通知时间可按系统登记或填写时间判定（设置）。",
    "CP-10": "CP-9与去年同期之差，单位为百分点；去年同期无危急值时显示“—”。",
    "CP-11": "近6个月每月首次审核的CT报告数（本月至今），与去年同月同一时刻为止比较；每个月都标明年份。",
    "CP-12": "同CP-11，设备为MR。",
    "CP-13": "门诊近7天每日：开单（首次开单）、预约（预约在当日或按设置当日新登记）、检查（开始检查）、"
             "报告（首次审核）。",
    "CP-14": "同CP-13，患者类别为住院。",
    "CP-15": "今日签到及午夜前签到仍在候检的患者，候检（签到至开始检查，未开始的至今）超过设定时长的，最长的在前。",
}
DRILL_PAGE = 100


def _trend_class(change: float | None) -> str:
    return "flat" if change is None or change == 0 else ("up" if change > 0 else "down")


def _spark(values: list[Any], *, rate: bool = False) -> Any:
    """A 14-day trend drawn with CSS bars (no chart per tile); a day without data is a gap."""
    nums = [v for v in values if v is not None]
    top = max(nums) if nums else 0
    bars = []
    for v in values:
        h = 0 if v is None or not top else max(4, round(v / (1 if rate else top) * 100))
        bars.append(html.Span(className="spark-bar" + (" empty" if v is None else ""), style={"height": f"{h}%"}))
    return html.Div(bars, className="cockpit-spark", title="近14天趋势")


def _tile(value: Any, sub: str, *, change: float | None = None, unit: str = "", spark: list[Any] | None = None,
          rate: bool = False) -> list[Any]:
    out = [html.Div([html.Span(str(value), className="cockpit-value"), html.Span(unit, className="cockpit-unit")]),
           html.Div(sub, className=f"cockpit-sub trend-{_trend_class(change)}")]
    if spark is not None:
        out.append(_spark(spark, rate=rate))
    return out


def tiles(f: dict[str, Any]) -> list[Any]:
    """The six tiles: CT and MR completions, subspecialty appointments, critical values."""
    out = []
    for fig in ("CP-1", "CP-2"):
        x = f[fig]
        out.append(_tile(x["value"], f"{x['last_year_word']} {x['last_year']} · 同比 {x['yoy_text']}",
                         change=x["yoy"], unit="例", spark=x.get("spark")))
    cp7 = f["CP-7"]
    by_mod = "、".join(f"{m} {n}" for m, n in sorted(cp7["by_modality"].items())) or "暂无预约"
    out.append(_tile(cp7["value"], by_mod, unit="人", spark=cp7.get("spark")))
    cp8 = f["CP-8"]
    out.append(_tile(cp8["total"], f"及时 {cp8['within']} · 超时 {cp8['late']} · 待通知 {cp8['pending']}", unit="例",
                     spark=cp8.get("spark")))
    cp9 = f["CP-9"]
    pending = f" · 待通知 {cp9['pending']}（不计入）" if cp9["pending"] else ""
    out.append(_tile(cp9["text"], f"及时 {cp9['within']} / 已判定 {cp9['judged']}{pending}",
                     spark=cp9.get("spark"), rate=True))
    cp10 = f["CP-10"]
    last = "—" if cp10["last_year_rate"] is None else f"{cp10['last_year_rate'] * 100:.1f}%"
    change = cp10["change_pp"]
    out.append(_tile("—" if change is None else f"{change:+.1f}", f"去年同期 {last}", change=change,
                     unit="" if change is None else "个百分点"))
    return out


def waits(f: dict[str, Any]) -> Any:
    """CP-15: the scrolling list (the rows run twice so the scroll loops without a jump)."""
    items = f["items"]
    if not items:
        return html.Div(f"暂无候检超过 {f['threshold_min'] / 60:g} 小时的患者", className="cockpit-empty")
    rows = [html.Div([html.Span(i["patient"], className="w-name"), html.Span(i["exam"], className="w-exam"),
                      html.Span(f"超时 {i['over_min']} 分钟", className="w-over"),
                      html.Span("候检中" if i["still_waiting"] else "已检查", className="w-state")],
                     className="cockpit-wait-row") for i in items]
    scroll = len(items) > 6
    return html.Div(rows + (rows if scroll else []), className="cockpit-wait-list" + (" scrolling" if scroll else ""),
                    style={"--wait-rows": len(items)})


def refresh(_kick: Any, _n: Any, _connected: Any, mode: dict[str, Any], fresh: dict[str, Any] | None) -> list[Any]:
    """Re-read every figure (socket event after throttling, reconnect, or the slow timer).

    A session that ended says so (`cockpit-fresh.auth` false: the page shows 已断开 and a login link)
    instead of freezing silently.
    """
    n_out = len(TILES) + len(CHARTS) + 2
    actor = page_actor()
    if actor is None:
        return [no_update] * n_out + [{"auth": False, "seq": (fresh or {}).get("seq", 0)}]
    mode = mode or {}
    screen = mode.get("mode") == "screen"
    f = board.figures(services(), by=actor, mask=screen, scope=mode.get("scope") or DEFAULT_SCOPE)
    theme = "screen" if screen else "desk"
    figs = [CHART_FUNCS[fig](f[fig], theme) for fig, _, _ in CHARTS]
    as_of = datetime.fromisoformat(f["as_of"]).astimezone(services().tz)
    return [*tiles(f), *figs, waits(f["CP-15"]), f"数据截至 {as_of:%Y-%m-%d %H:%M:%S}",
            {"auth": True, "seq": (fresh or {}).get("seq", 0) + 1}]


def _key_of(click: Any) -> tuple[str, int]:
    """The clicked point's key (category, modality, month or "kind:day") and its series number."""
    point = (click or {}).get("points", [{}])[0]
    data = point.get("customdata", "")
    key = str(data[0] if isinstance(data, list) and data else data or "")
    return key, int(point.get("curveNumber", 0) or 0)


def _table(result: dict[str, Any]) -> Any:
    rows, columns = result["rows"], result["columns"]
    if not rows:
        return html.P("没有对应的记录。", className="text-muted")
    head = html.Thead(html.Tr([html.Th(c["label"]) for c in columns]))
    body = html.Tbody([html.Tr([html.Td("" if r.get(c["key"]) is None else r.get(c["key"])) for c in columns],
                               className="flagged" if r.get("backdated") else None) for r in rows])
    return dbc.Table([head, body], striped=True, hover=True, size="sm", className="cockpit-drill-table")


def _export_href(state: dict[str, Any], fmt: str) -> str:
    return "/api/cockpit/drill/export?" + urlencode(
        {"figure": state["figure"], "key": state["key"], "scope": state["scope"], "format": fmt})


def drill(*args: Any) -> tuple[Any, ...]:
    """Open the modal on the first page behind the clicked tile, bar, slice or list; page on with 下一页."""
    mode, state = args[-2] or {}, args[-1] or {}
    trigger = ctx.triggered_id
    actor = page_actor()
    if actor is None or not mode.get("drill") or not isinstance(trigger, str) or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    scope = mode.get("scope") or DEFAULT_SCOPE
    if trigger in ("cockpit-drill-next", "cockpit-drill-first"):
        if not state.get("figure"):
            raise PreventUpdate
        fig, key = state["figure"], state["key"]
        after = state.get("next") or "" if trigger == "cockpit-drill-next" else ""
        page_no = state.get("page", 1) + 1 if trigger == "cockpit-drill-next" else 1
    else:
        fig = trigger[trigger.index("CP-"):] if "CP-" in trigger else "CP-15"
        key, curve = _key_of(ctx.triggered[0]["value"]) if trigger.startswith("cockpit-graph-") else ("", 0)
        if fig == "CP-6" and curve == 0:
            fig = "CP-5"  # the "本期" bar of the comparison is this month's figure
        after, page_no = "", 1
    try:
        result = cockpit_drill.drill(services(), fig, key=key, by=actor, scope=scope, after=after, limit=DRILL_PAGE)
    except DomainError as exc:
        return (True, f"{fig} 下钻", dbc.Alert(exc.message, color="warning"), "", True, True, "#", "#",
                {"figure": "", "key": "", "scope": scope})
    unit = "条危急值" if result["kind"] == "critical_values" else "例"
    title = f"{fig} 明细（共 {result['count']:,} {unit}）" + (f" · {key}" if key else "")
    first = (page_no - 1) * DRILL_PAGE + 1
    shown = f"第 {page_no} 页：第 {first}–{first + len(result['rows']) - 1} 条" if result["rows"] else ""
    new_state = {"figure": fig, "key": key, "scope": scope, "next": result["next"], "page": page_no}
    return (True, title, _table(result), shown, result["next"] is None, page_no == 1,
            _export_href(new_state, "csv"), _export_href(new_state, "xlsx"), new_state)
