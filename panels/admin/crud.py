"""A small engine for the admin list-and-form pages: a table, a form that creates or edits the picked row,
(de)activate and delete buttons behind a confirmation, and errors shown in Chinese next to the form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component

from backend.domain.actor import Actor
from backend.domain.errors import DomainError, Unauthenticated
from backend.services.base import Services
from backend.web.context import page_actor, services

Row = dict[str, Any]


@dataclass(frozen=True)
class FormField:
    """One input: kind is text / password / number / select / multi / checklist / switch / radio."""

    key: str
    label: str
    kind: str = "text"
    options: Callable[[Services], list[dict[str, Any]]] | None = None
    create_only: bool = False
    required: bool = False
    placeholder: str = ""
    md: int = 4


@dataclass(frozen=True)
class CrudSpec:
    prefix: str
    noun: str
    fields: list[FormField]
    columns: list[tuple[str, str]]
    rows: Callable[[Services, Actor], list[Row]]
    create: Callable[[Services, Actor, Row], Row]
    update: Callable[[Services, Actor, int, Row], Row]
    set_active: Callable[[Services, Actor, int, bool], Row] | None = None
    delete: Callable[[Services, Actor, int], None] | None = None
    defaults: Row = field(default_factory=dict)


def current_actor() -> Actor:
    actor = page_actor()
    if actor is None:
        raise Unauthenticated("登录已过期，请重新登录", code="unauthenticated")
    return actor


def alert(text: str, ok: bool, id_: str) -> Any:
    return dbc.Alert(text, color="success" if ok else "danger", className="py-2 mb-2", id=id_)


def error_alert(exc: DomainError, id_: str) -> Any:
    return alert(f"{exc.message}（错误代码：{exc.code}）", False, id_)


def cell(value: Any) -> Any:
    if isinstance(value, Component):  # a rendered cell (a progress bar, say) goes in as it is
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return "" if value is None else str(value)


def table(columns: list[tuple[str, str]], rows: list[Row], id_: str) -> Any:
    head = html.Thead(html.Tr([html.Th(label) for _, label in columns]))
    body = html.Tbody([html.Tr([html.Td(cell(r.get(k))) for k, _ in columns],
                               className="" if r.get("active", True) else "text-muted table-secondary")
                       for r in rows])
    return dbc.Table([head, body], bordered=False, hover=True, striped=True, size="sm", id=id_,
                     className="bg-white small mb-0")


def control(spec: CrudSpec, f: FormField, svc: Services) -> Any:
    id_ = {"type": f"{spec.prefix}-field", "key": f.key}
    opts = f.options(svc) if f.options else []
    value = spec.defaults.get(f.key)
    if f.kind in {"text", "password", "number"}:
        return dbc.Input(id=id_, type=f.kind, value=value, placeholder=f.placeholder, size="sm",
                         debounce=False, autoComplete="new-password" if f.kind == "password" else "off")
    if f.kind == "select":
        return dcc.Dropdown(id=id_, options=opts, value=value, placeholder=f.placeholder or "请选择",
                            className="small", clearable=not f.required)
    if f.kind == "multi":
        return dcc.Dropdown(id=id_, options=opts, value=value or [], multi=True, className="small",
                            placeholder=f.placeholder or "可多选")
    if f.kind == "checklist":
        return dbc.Checklist(id=id_, options=opts, value=value or [], inline=True, className="small")
    if f.kind == "radio":
        return dbc.RadioItems(id=id_, options=opts, value=value, inline=True, className="small")
    return dbc.Switch(id=id_, value=bool(value), label=f.placeholder or "是", className="small")


def form_card(spec: CrudSpec, svc: Services, rows: list[Row]) -> Any:
    p = spec.prefix
    cols = [dbc.Col([dbc.Label([f.label, html.Span(" *", className="text-danger") if f.required else None],
                               className="small mb-0"), control(spec, f, svc)], md=f.md, className="mb-2")
            for f in spec.fields]
    buttons = [dbc.Button("保存", id=f"{p}-save", color="primary", size="sm", className="me-2")]
    if spec.set_active is not None:
        buttons.append(dbc.Button("停用", id=f"{p}-toggle", color="warning", size="sm", className="me-2",
                                  disabled=True))
    if spec.delete is not None:
        buttons.append(dbc.Button("删除", id=f"{p}-delete", color="danger", outline=True, size="sm", disabled=True))
    return dbc.Card([
        dbc.CardHeader(dbc.Row([
            dbc.Col(html.Span(f"新建或编辑{spec.noun}", className="fw-semibold"), width="auto"),
            dbc.Col(dcc.Dropdown(id=f"{p}-select", options=select_options(rows), value=None, className="small",
                                 placeholder=f"选择要编辑的{spec.noun}（留空为新建）"), md=6),
        ], align="center")),
        dbc.CardBody([dbc.Row(cols), html.Div(id=f"{p}-msg"), html.Div(buttons)]),
        dcc.ConfirmDialog(id=f"{p}-confirm", message=""),
        dcc.Store(id=f"{p}-pending"),
    ], className="shadow-sm mb-3")


def select_options(rows: list[Row]) -> list[dict[str, Any]]:
    return [{"label": f"{r.get('code') or r.get('username') or r['id']} {r.get('name') or r.get('display_name', '')}"
             + ("（已停用）" if not r.get("active", True) else ""), "value": r["id"]} for r in rows]


def crud_body(spec: CrudSpec, actor: Actor) -> Any:
    """The page body: the form card above the table of every row."""
    svc = services()
    rows = spec.rows(svc, actor)
    return html.Div([form_card(spec, svc, rows),
                     html.Div(table(spec.columns, rows, f"{spec.prefix}-rows"), id=f"{spec.prefix}-table",
                              className="mb-3")])


def _values(spec: CrudSpec, raw: list[Any], *, editing: bool) -> Row:
    out: Row = {}
    for f, v in zip(spec.fields, raw, strict=True):
        if editing and f.create_only:
            continue
        out[f.key] = v.strip() if isinstance(v, str) else (None if v == "" else v)
    return out


def act(spec: CrudSpec, trigger: str, selected: int | None, raw: list[Any], pending: Row | None) -> tuple[Any, ...]:
    """Run the save or the confirmed action; returns (message, table, select options, selected id)."""
    p, svc = spec.prefix, services()
    try:
        actor = current_actor()
        if trigger == f"{p}-save":
            row = (spec.update(svc, actor, selected, _values(spec, raw, editing=True)) if selected is not None
                   else spec.create(svc, actor, _values(spec, raw, editing=False)))
            text, selected = f"已保存{spec.noun}", row["id"]
        else:
            what, target = (pending or {}).get("action"), (pending or {}).get("id")
            if what == "delete" and spec.delete is not None:
                spec.delete(svc, actor, target)
                text, selected = f"已删除{spec.noun}", None
            elif what in {"activate", "deactivate"} and spec.set_active is not None:
                spec.set_active(svc, actor, target, what == "activate")
                text = f"已{'启用' if what == 'activate' else '停用'}{spec.noun}"
            else:
                return (no_update,) * 4
        msg = alert(text, True, f"{p}-ok")
    except DomainError as exc:
        return error_alert(exc, f"{p}-error"), no_update, no_update, no_update
    rows = spec.rows(svc, actor)
    return msg, table(spec.columns, rows, f"{p}-rows"), select_options(rows), selected


def fill(spec: CrudSpec, selected: int | None) -> tuple[Any, ...]:
    """Put the picked row's values in the form (or the defaults for a new one)."""
    rows = {r["id"]: r for r in spec.rows(services(), current_actor())} if selected is not None else {}
    row = rows.get(selected)
    values = [(row or spec.defaults).get(f.key, spec.defaults.get(f.key)) for f in spec.fields]
    values = [v if v is not None or f.kind not in {"multi", "checklist"} else [] for v, f in
              zip(values, spec.fields, strict=True)]
    disabled = [bool(row) and f.create_only for f in spec.fields]
    toggle = "启用" if row and not row.get("active", True) else "停用"
    return values, disabled, toggle, row is None, row is None


def ask(spec: CrudSpec, trigger: str, selected: int | None, toggle_label: str) -> tuple[Any, ...]:
    """Open the confirmation for a deactivate/activate or delete of the picked row."""
    if selected is None:
        return False, no_update, no_update
    if trigger == f"{spec.prefix}-delete":
        return True, f"确定删除该{spec.noun}吗？删除后不可恢复。", {"action": "delete", "id": selected}
    action = "activate" if toggle_label == "启用" else "deactivate"
    return True, f"确定{toggle_label}该{spec.noun}吗？", {"action": action, "id": selected}


def bind(app: Any, spec: CrudSpec) -> None:
    """Register the page's three callbacks on `app`."""
    p = spec.prefix
    fields = {"type": f"{p}-field", "key": ALL}
    app.callback(
        Output(f"{p}-msg", "children"), Output(f"{p}-table", "children"), Output(f"{p}-select", "options"),
        Output(f"{p}-select", "value"),
        Input(f"{p}-save", "n_clicks"), Input(f"{p}-confirm", "submit_n_clicks"),
        State(f"{p}-select", "value"), State(fields, "value"), State(f"{p}-pending", "data"),
        prevent_initial_call=True,
    )(lambda _s, _c, sel, raw, pending: act(spec, ctx.triggered_id, sel, raw, pending))
    outs = [Output(fields, "value"), Output(fields, "disabled")]
    if spec.set_active is not None:
        outs += [Output(f"{p}-toggle", "children"), Output(f"{p}-toggle", "disabled")]
    if spec.delete is not None:
        outs.append(Output(f"{p}-delete", "disabled"))

    def _fill(selected: int | None) -> tuple[Any, ...]:
        values, disabled, toggle, no_toggle, no_delete = fill(spec, selected)
        out: list[Any] = [values, disabled]
        if spec.set_active is not None:
            out += [toggle, no_toggle]
        if spec.delete is not None:
            out.append(no_delete)
        return tuple(out)

    app.callback(*outs, Input(f"{p}-select", "value"), prevent_initial_call=True)(_fill)
    triggers = [Input(f"{p}-{b}", "n_clicks") for b, ok in (("toggle", spec.set_active), ("delete", spec.delete))
                if ok is not None]
    if triggers:
        app.callback(
            Output(f"{p}-confirm", "displayed"), Output(f"{p}-confirm", "message"), Output(f"{p}-pending", "data"),
            *triggers, State(f"{p}-select", "value"),
            State(f"{p}-toggle", "children") if spec.set_active is not None else State(f"{p}-select", "value"),
            prevent_initial_call=True,
        )(lambda *a: ask(spec, ctx.triggered_id, a[-2], a[-1]))
