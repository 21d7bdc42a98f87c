"""The registration (登记) form's layout: patient card, order card and the slot picker card."""

from __future__ import annotations

from itertools import groupby
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from backend.domain.enums import PATIENT_CLASS_LABELS, PRIORITY_LABELS, SEX_LABELS

HIDDEN = {"display": "none"}


def item_options(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exam items grouped by modality (a disabled header per group), each saying whether it needs a slot."""
    out: list[dict[str, Any]] = []
    for label, group in groupby(items, key=lambda i: i["modality_label"]):
        out.append({"label": f"—— {label} ——", "value": f"__group_{label}", "disabled": True})
        for i in group:
            need = "需预约" if i["needs_slot"] else "无需预约"
            out.append({"label": f"{i['name']}（{i['code']}，{need}）", "value": i["code"],
                        "search": f"{i['code']} {i['name']} {label}"})
    return out


def _f(label: str, control: Any, md: int = 6, *, required: bool = False) -> Any:
    star = html.Span(" *", className="text-danger") if required else None
    return dbc.Col([dbc.Label([label, star], className="form-label small mb-0"), control], md=md, className="mb-2")


def _radios(id_: str, labels: dict[Any, str], value: str) -> Any:
    return dbc.RadioItems(id=id_, options=[{"label": v, "value": str(k)} for k, v in labels.items()], value=value,
                          inline=True, className="small")


def patient_card() -> Any:
    return dbc.Card([
        dbc.CardHeader("患者信息", className="fw-semibold"),
        dbc.CardBody([
            dbc.Row([
                _f("病案号", dbc.InputGroup([
                    dbc.Input(id="reg-mrn", maxLength=32, placeholder="输入病案号后回车可调取已有患者"),
                    dbc.Button("调取", id="reg-lookup", color="secondary", outline=True),
                ], size="sm"), 8, required=True),
                dbc.Col(html.Div(id="reg-lookup-msg", className="small mt-4"), md=4),
            ]),
            dbc.Row([
                _f("姓名", dbc.Input(id="reg-name", maxLength=64, size="sm"), 6, required=True),
                _f("性别", _radios("reg-sex", SEX_LABELS, "U"), 6),
                _f("出生日期", dbc.Input(id="reg-birth", type="date", size="sm"), 6),
                _f("身份证号", dbc.Input(id="reg-idcard", maxLength=18, size="sm", placeholder="18 位"), 6),
                _f("联系电话", dbc.Input(id="reg-phone", maxLength=20, size="sm"), 6),
                _f("医保号", dbc.Input(id="reg-insurance", maxLength=64, size="sm"), 6),
                dbc.Col(dbc.Checkbox(id="reg-cadre", label="干部保健对象", value=False), md=6),
                dbc.Col(dbc.Checkbox(id="reg-military", label="军人", value=False), md=6),
            ]),
        ]),
    ], className="shadow-sm h-100")


def order_card(items: list[dict[str, Any]], campuses: list[dict[str, Any]]) -> Any:
    return dbc.Card([
        dbc.CardHeader("检查申请", className="fw-semibold"),
        dbc.CardBody([
            dbc.Row([
                _f("检查项目", dcc.Dropdown(id="reg-item", options=item_options(items), placeholder="输入名称或代码",
                                        className="small"), 8, required=True),
                dbc.Col(html.Div(id="reg-item-hint", className="small mt-4"), md=4),
                _f("患者类别", _radios("reg-class", PATIENT_CLASS_LABELS, "outpatient"), 6),
                _f("优先级", _radios("reg-priority", PRIORITY_LABELS, "routine"), 6),
                _f("申请科室", dbc.Input(id="reg-dept", maxLength=64, size="sm", placeholder="如：胸外科"), 4),
                _f("申请医生", dbc.Input(id="reg-doctor", maxLength=64, size="sm"), 4),
                _f("院区", dbc.Select(id="reg-campus", options=[{"label": c["name"], "value": c["code"]}
                                                               for c in campuses],
                                     value=campuses[0]["code"] if campuses else None, size="sm"), 4),
                _f("临床信息", dbc.Textarea(id="reg-clinical", maxLength=2000, rows=2, className="form-control-sm",
                                         placeholder="病史、检查目的"), 12),
            ]),
        ]),
    ], className="shadow-sm h-100")


def slot_card(today: str) -> Any:
    return dbc.Card([
        dbc.CardHeader(["号源选择", html.Span(id="reg-slot-summary", className="small text-muted ms-2")],
                       className="fw-semibold"),
        dbc.CardBody([
            dbc.Row([
                _f("预约日期", dbc.Input(id="reg-slot-day", type="date", value=today, min=today, size="sm"), 3),
                dbc.Col(html.Div("灰色时段已过或已约满，不可选择。", className="small text-muted mt-4"), md=9),
            ]),
            dbc.RadioItems(id="reg-slot", options=[], value=None, className="slot-grid"),
            html.Div(id="reg-slot-empty", className="small text-muted"),
        ]),
    ], id="reg-slot-card", className="shadow-sm mt-3", style=HIDDEN)
