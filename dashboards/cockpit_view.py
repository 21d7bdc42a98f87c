"""What the cockpit page shows: tiles, charts and the long-wait list from the service's figures,
and the drill-down table (callbacks only translate; the numbers come from services.cockpit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import ctx, html
from dash.exceptions import PreventUpdate

from backend.domain.errors import DomainError
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
DRILL_COLUMNS = [("accession", "检查号"), ("patient", "患者"), ("item", "检查项目"), ("modality", "设备"),
                 ("category", "类别"), ("patient_class", "患者类别"), ("status", "检查状态"),
                 ("created_at", "开单时间")]


def _trend_class(change: float | None) -> str:
    return "flat" if change is None or change == 0 else ("up" if change > 0 else "down")


def _tile(value: Any, sub: str, *, change: float | None = None, unit: str = "") -> list[Any]:
    return [html.Div([html.Span(str(value), className="cockpit-value"), html.Span(unit, className="cockpit-unit")]),
            html.Div(sub, className=f"cockpit-sub trend-{_trend_class(change)}")]


def tiles(f: dict[str, Any]) -> list[Any]:
    """The six tiles: CT and MR completions, subspecialty appointments, critical values."""
    out = []
    for fig in ("CP-1", "CP-2"):
        x = f[fig]
        out.append(_tile(x["value"], f"去年同期 {x['last_year']} · 同比 {x['yoy_text']}", change=x["yoy"], unit="例"))
    cp7 = f["CP-7"]
    by_mod = "、".join(f"{m} {n}" for m, n in sorted(cp7["by_modality"].items())) or "暂无预约"
    out.append(_tile(cp7["value"], by_mod, unit="人"))
    cp8 = f["CP-8"]
    out.append(_tile(cp8["total"], f"{cp8['limit_min']}分钟内通知 {cp8['within']} 例", unit="例"))
    cp9 = f["CP-9"]
    out.append(_tile(cp9["text"], f"{cp9['limit_min']}分钟内通知 / 危急值总数"))
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


def refresh(_kick: Any, _n: Any, _connected: Any, mode: dict[str, Any]) -> list[Any]:
    """Re-read every figure (socket event after throttling, reconnect, or the slow timer)."""
    actor = page_actor()
    if actor is None:
        raise PreventUpdate
    screen = (mode or {}).get("mode") == "screen"
    f = board.figures(services(), by=actor, mask=screen)
    theme = "screen" if screen else "desk"
    figs = [CHART_FUNCS[fig](f[fig], theme) for fig, _, _ in CHARTS]
    as_of = datetime.fromisoformat(f["as_of"]).astimezone(services().tz)
    return [*tiles(f), *figs, waits(f["CP-15"]), f"数据截至 {as_of:%Y-%m-%d %H:%M:%S}"]


def _key_of(click: Any) -> tuple[str, int]:
    """The clicked point's key (category, modality, month or "kind:day") and its series number."""
    point = (click or {}).get("points", [{}])[0]
    data = point.get("customdata", "")
    key = str(data[0] if isinstance(data, list) and data else data or "")
    return key, int(point.get("curveNumber", 0) or 0)


def _table(rows: list[dict[str, Any]]) -> Any:
    if not rows:
        return html.P("没有对应的检查。", className="text-muted")
    head = html.Thead(html.Tr([html.Th(label) for _, label in DRILL_COLUMNS]))
    body = html.Tbody([html.Tr([html.Td(r[k]) for k, _ in DRILL_COLUMNS]) for r in rows])
    return dbc.Table([head, body], striped=True, hover=True, size="sm", className="cockpit-drill-table")


def drill(*args: Any) -> tuple[bool, str, Any]:
    """Open the modal with the exams behind the clicked tile, bar, slice or list."""
    mode = args[-1] or {}
    trigger = ctx.triggered_id
    actor = page_actor()
    if actor is None or not mode.get("drill") or not isinstance(trigger, str) or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    fig = trigger[trigger.index("CP-"):] if "CP-" in trigger else "CP-15"
    key, curve = _key_of(ctx.triggered[0]["value"]) if trigger.startswith("cockpit-graph-") else ("", 0)
    if fig == "CP-6" and curve == 0:
        fig = "CP-5"  # the "本期" bar of the comparison is this month's figure
    try:
        result = cockpit_drill.drill(services(), fig, key=key, by=actor)
    except DomainError as exc:
        return True, f"{fig} 下钻", dbc.Alert(exc.message, color="warning")
    title = f"{fig} 明细（{result['count']} 例）" + (f" · {key}" if key else "")
    return True, title, _table(result["exams"])
