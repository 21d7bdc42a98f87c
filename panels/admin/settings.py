"""Admin page /admin/settings: runtime settings grouped as in the catalog, an input per kind, JSON editor."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, html

from backend.domain.errors import DomainError, InvalidInput
from backend.domain.permissions import Perm
from backend.services.admin import system
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.admin.crud import alert, current_actor, error_alert
from panels.admin.nav import admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/settings"


TAT_KEY = "tat.targets"
CLASS_LABELS = {"emergency": "急诊", "outpatient": "门诊", "inpatient": "住院", "health_check": "体检"}


def _tat_form(value: dict[str, dict[str, int]]) -> Any:
    """The turnaround targets as a form: one number per patient class and modality (issue 15 item 3), not JSON.
    Each exam item's own targets are on /admin/items (常规/急诊报告时限)."""
    from backend.domain.enums import MODALITY_LABELS

    mods = sorted({m for row in value.values() for m in row})
    head = html.Thead(html.Tr([html.Th("患者类别 \\ 设备"), *[html.Th(MODALITY_LABELS.get(m, m)) for m in mods]]))
    rows = [html.Tr([html.Th(CLASS_LABELS.get(c, c)),
                     *[html.Td(dbc.Input(id={"type": "settings-tat", "key": TAT_KEY, "cls": c, "mod": m},
                                         type="number", min=1, max=10080, step=1, value=value[c].get(m), size="sm",
                                         style={"maxWidth": "90px"})) for m in mods]])
            for c in value]
    return html.Div([dbc.Table([head, html.Tbody(rows)], size="sm", bordered=True, className="mb-1",
                               id="settings-tat-table"),
                     html.Div("单位：分钟（检查完成到报告审核）", className="text-muted small"),
                     dbc.Input(id={"type": "settings-input", "key": TAT_KEY}, type="hidden",
                               value=json.dumps(value, ensure_ascii=False))])


def tat_collect(values: list[Any], ids: list[dict[str, str]]) -> str:
    """The grid's numbers as the setting's JSON (the save button stores it like any other setting)."""
    out: dict[str, dict[str, Any]] = {}
    for v, i in zip(values, ids, strict=True):
        try:
            out.setdefault(i["cls"], {})[i["mod"]] = int(v)
        except (TypeError, ValueError):
            out.setdefault(i["cls"], {})[i["mod"]] = v
    return json.dumps(out, ensure_ascii=False)


def _input(s: dict[str, Any]) -> Any:
    id_ = {"type": "settings-input", "key": s["key"]}
    if s["key"] == TAT_KEY and isinstance(s["value"], dict):
        return _tat_form(s["value"])
    if s["kind"] == "int":
        return dbc.Input(id=id_, type="number", value=s["value"], min=s["minimum"], max=s["maximum"], step=1,
                         size="sm", style={"maxWidth": "160px"})
    if s["kind"] == "bool":
        return dbc.Switch(id=id_, value=bool(s["value"]), label="开启")
    if s["kind"] == "json":
        return dbc.Textarea(id=id_, value=json.dumps(s["value"], ensure_ascii=False, indent=2), rows=10,
                            className="font-monospace small", spellCheck=False)
    return dbc.Input(id=id_, value=s["value"], size="sm")


def _when(updated_at: str | None) -> str:
    """When a setting changed, in site time (not UTC), or that it uses its default."""
    if not updated_at:
        return "使用默认值"
    return f"上次修改：{datetime.fromisoformat(updated_at).astimezone(services().tz):%Y-%m-%d %H:%M}"


def _row(s: dict[str, Any]) -> Any:
    rng = f"（范围 {s['minimum']}–{s['maximum']}）" if s["kind"] == "int" and s["minimum"] is not None else ""
    return dbc.ListGroupItem(dbc.Row([
        dbc.Col([html.Div(s["label"] + rng, className="fw-semibold small"),
                 html.Div([html.Code(s["key"]), " · ", html.Span(_when(s["updated_at"]),
                                                                 id={"type": "settings-when", "key": s["key"]})],
                          className="text-muted small")], md=4),
        dbc.Col([_input(s), html.Div(id={"type": "settings-msg", "key": s["key"]}, className="mt-2 small")], md=6),
        dbc.Col(dbc.Button("保存", id={"type": "settings-save", "key": s["key"]}, color="primary", size="sm"), md=2),
    ], align="start"), id=f"settings-row-{s['key'].replace('.', '-')}")


def body(actor: Any) -> Any:
    groups = system.settings_by_group(services(), by=actor)
    return html.Div([dbc.Card([dbc.CardHeader(group, className="fw-semibold"),
                               dbc.ListGroup([_row(s) for s in rows], flush=True)], className="shadow-sm mb-3")
                     for group, rows in groups.items()], id="settings-groups")


def save(key: str, value: Any) -> tuple[Any, Any]:
    """Validate and store one setting; the message (and the input, kept as typed) stays beside it, and the
    row's 上次修改 line changes at once (no reload: issue 15 item 10)."""
    try:
        if isinstance(value, str) and _kind(key) == "json":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                where = f"第 {exc.lineno} 行第 {exc.colno} 列"
                raise InvalidInput(f"JSON 格式错误：{where}", code="malformed_json") from exc
        if value is None or value == "":
            raise InvalidInput("请填写一个值", code="invalid_setting")
        stored = system.change_setting(services(), key, value, by=current_actor())
    except DomainError as exc:
        return error_alert(exc, f"settings-error-{key.replace('.', '-')}"), dash.no_update
    shown = "已保存" if isinstance(stored, dict | list) else f"已保存：{stored}"
    row = next((r for r in system.settings_by_group(services(), by=current_actor()).get(_group(key), [])
                if r["key"] == key), None)
    return alert(shown, True, f"settings-ok-{key.replace('.', '-')}"), _when(row["updated_at"] if row else None)


def _group(key: str) -> str:
    from backend.domain.settings_catalog import catalog

    defn = catalog().get(key)
    return defn.group if defn else ""


def _kind(key: str) -> str:
    from backend.domain.settings_catalog import catalog

    defn = catalog().get(key)
    return defn.kind if defn else ""


def _callbacks(app: Any) -> None:
    from dash import ctx

    # MATCH on the key, not the key itself: Dash cannot address a dict id whose value holds a dot.
    app.callback(Output({"type": "settings-input", "key": MATCH}, "value"),
                 Input({"type": "settings-tat", "key": MATCH, "cls": ALL, "mod": ALL}, "value"),
                 State({"type": "settings-tat", "key": MATCH, "cls": ALL, "mod": ALL}, "id"),
                 prevent_initial_call=True)(tat_collect)
    app.callback(Output({"type": "settings-msg", "key": MATCH}, "children"),
                 Output({"type": "settings-when", "key": MATCH}, "children"),
                 Input({"type": "settings-save", "key": MATCH}, "n_clicks"),
                 State({"type": "settings-input", "key": MATCH}, "value"),
                 prevent_initial_call=True)(lambda _n, value: save(ctx.triggered_id["key"], value))


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "运行参数", body)


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, "运行参数", layout, _callbacks)
