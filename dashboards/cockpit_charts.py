"""Cockpit charts as pure functions: one computed figure dict in, one Plotly figure out (OpenREM style)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from backend.domain.metrics import MarkKind

FONT = ("Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, WenQuanYi Micro Hei, "
        "SimHei, sans-serif")
THEMES = {
    "screen": {"paper": "rgba(0,0,0,0)", "text": "#dbe7ff", "grid": "rgba(120,150,200,0.18)", "size": 15,
               "colors": ["#3fa7ff", "#ffb547", "#36d399", "#f87272", "#a78bfa"]},
    "desk": {"paper": "rgba(0,0,0,0)", "text": "#1f2d3d", "grid": "rgba(0,0,0,0.08)", "size": 13,
             "colors": ["#1f6fd1", "#f39c12", "#27ae60", "#e74c3c", "#8e44ad"]},
}
FLOW_COLORS = {MarkKind.ORDERED: 0, MarkKind.APPOINTMENT: 1, MarkKind.STARTED: 2, MarkKind.REPORT_APPROVED: 4}


def _layout(fig: go.Figure, mode: str, *, legend: bool = True) -> go.Figure:
    t = THEMES[mode]
    fig.update_layout(
        paper_bgcolor=t["paper"], plot_bgcolor=t["paper"], font={"family": FONT, "color": t["text"], "size": t["size"]},
        margin={"l": 40, "r": 12, "t": 8, "b": 28}, showlegend=legend, colorway=t["colors"],
        legend={"orientation": "h", "y": 1.12, "x": 0, "font": {"size": t["size"] - 1}},
        separators=".,", hovermode="closest", clickmode="event",
    )
    fig.update_xaxes(gridcolor=t["grid"], zeroline=False)
    fig.update_yaxes(gridcolor=t["grid"], zeroline=False, rangemode="tozero")
    return fig


def shares_pie(f: dict[str, Any], mode: str) -> go.Figure:
    """CP-3 / CP-4: completed exams by category (常规 / 亚专科 / GCP)."""
    keys = list(f["counts"])
    values = [f["counts"][k] for k in keys]
    fig = go.Figure(go.Pie(
        labels=[f["labels"][k] for k in keys], values=values, customdata=keys, hole=0.55, sort=False,
        textinfo="label+percent" if sum(values) else "none", texttemplate="%{label}<br>%{percent:.1%}",
        hovertemplate="%{label}：%{value} 例（%{percent:.1%}）<extra></extra>"))
    fig.add_annotation(text=f"{f['total']}<br><span style='font-size:0.7em'>例</span>", showarrow=False,
                       font={"size": THEMES[mode]["size"] + 9})
    return _layout(fig, mode, legend=False)


def modality_bars(f: dict[str, Any], mode: str) -> go.Figure:
    """CP-5: this month's DR, mammography and GI contrast completions."""
    items = f["items"]
    values = [i["value"] for i in items]
    fig = go.Figure(go.Bar(x=[i["label"] for i in items], y=values, text=values, textposition="outside",
                           customdata=[i["modality"] for i in items], name="本月",
                           hovertemplate="%{x}：%{y} 例<extra></extra>", cliponaxis=False))
    _layout(fig, mode, legend=False)
    fig.update_yaxes(range=[0, max([*values, 1]) * 1.25])
    return fig


def modality_yoy(f: dict[str, Any], mode: str) -> go.Figure:
    """CP-6: this month against the same period last year, with the change on top."""
    items = f["items"]
    labels = [i["label"] for i in items]
    mods = [i["modality"] for i in items]
    fig = go.Figure([
        go.Bar(x=labels, y=[i["value"] for i in items], name="本期", customdata=mods,
               text=[i["yoy_text"] for i in items], textposition="outside", cliponaxis=False,
               hovertemplate="%{x} 本期：%{y} 例（同比 %{text}）<extra></extra>"),
        go.Bar(x=labels, y=[i["last_year"] for i in items], name="去年同期", customdata=mods,
               hovertemplate="%{x} 去年同期：%{y} 例<extra></extra>"),
    ])
    fig.update_layout(barmode="group")
    return _layout(fig, mode)


def trend(f: dict[str, Any], mode: str) -> go.Figure:
    """CP-11 / CP-12: approved reports per month for the last six months against the same months a year
    earlier; every month names its year (the six months may cross a new year)."""
    ticks = [label.replace("年", "年<br>") for label in f["labels"]]
    top = max([*f["this_year"], *f["last_year"], 1])
    fig = go.Figure([
        go.Scatter(x=ticks, y=f["this_year"], name=f["this_year_label"], mode="lines+markers+text",
                   text=f["this_year"], textposition="top center", customdata=f["months"], cliponaxis=False,
                   line={"width": 3},
                   hovertemplate="%{customdata}：%{y} 份<extra>" + f["this_year_label"] + "</extra>"),
        go.Scatter(x=ticks, y=f["last_year"], name=f["last_year_label"], mode="lines+markers",
                   customdata=f["last_year_months"], line={"width": 2, "dash": "dot"}, cliponaxis=False,
                   hovertemplate="%{customdata}：%{y} 份<extra>" + f["last_year_label"] + "</extra>"),
    ])
    _layout(fig, mode)
    fig.update_yaxes(range=[0, top * 1.28])
    fig.update_xaxes(tickangle=0)
    fig.update_layout(margin={"l": 40, "r": 16, "t": 24, "b": 40})
    return fig


def flows(f: dict[str, Any], mode: str) -> go.Figure:
    """CP-13 / CP-14: orders, appointments, exams and reports per day for seven days."""
    colors = THEMES[mode]["colors"]
    fig = go.Figure([
        go.Bar(x=f["labels"], y=f["series"][k], name=f["series_labels"][k], marker_color=colors[FLOW_COLORS[k]],
               customdata=[f"{k}:{d}" for d in f["days"]],
               hovertemplate="%{x} " + f["series_labels"][k] + "：%{y}<extra></extra>")
        for k in f["series"]
    ])
    fig.update_layout(barmode="group", bargap=0.18, bargroupgap=0.05)
    return _layout(fig, mode)


CHARTS = {"CP-3": shares_pie, "CP-4": shares_pie, "CP-5": modality_bars, "CP-6": modality_yoy,
          "CP-11": trend, "CP-12": trend, "CP-13": flows, "CP-14": flows}
