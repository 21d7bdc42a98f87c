"""The exam list's 引用历史图像 dialog (LN-4..LN-7): the patient's prior imaging exams (date, item, modality,
series and image counts, a thumbnail per series), pick one series as the reconstruction source, undo the link
before it is sent, resend after a failure or a timeout, and the link's status.

Registered on the exam list's context menu (`panels.exam_menu.add_action`) for items that use the flow
(RADOPS_RECON_ITEMS) and roles holding `recon.link`; every action goes through `services.imaging.recon`,
which authorises it again."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from flask import has_app_context

from backend.config import Settings
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.domain.recon import uses_recon
from backend.services.imaging import recon
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.exam_menu import MENU_COMPONENTS, MenuAction, add_action
from panels.shell import EXPIRED

# The dialog opens from the exam list (exam.read); each action re-checks recon.link in the service.
ACCESS = staff(Perm.EXAM_READ)
ACTION = "recon_priors"
LABEL = "引用历史图像"
STATE_COLORS = {"pending": "secondary", "sending": "info", "sent": "primary", "completed": "success",
                "failed": "danger", "timed_out": "warning"}


def _applies(row: dict[str, Any]) -> bool:
    configured = services().settings.recon_items if has_app_context() else Settings.recon_items
    return uses_recon(str(row.get("item_code", "")), configured)


def components() -> Any:
    return html.Div([
        dcc.Store(id="recon-accession"), dcc.Store(id="recon-bump", data=0),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle(id="recon-title", children="引用历史图像")),
            dbc.ModalBody([
                html.Div(id="recon-link", className="mb-2"),
                dbc.Alert(id="recon-error", color="danger", is_open=False, className="py-2"),
                dcc.Loading(html.Div(id="recon-priors"), type="dot"),
            ]),
            dbc.ModalFooter([
                dbc.Button("撤销引用", id="recon-undo", color="warning", outline=True, className="me-auto"),
                dbc.Button("重新发送", id="recon-resend", color="secondary", outline=True),
                dbc.Button("关闭", id="recon-close", color="secondary", outline=True),
                dbc.Button("引用所选序列", id="recon-confirm", color="primary"),
            ]),
        ], id="recon-dialog", size="xl", scrollable=True, is_open=False),
    ])


def _series_label(s: dict[str, Any]) -> Any:
    thumb = (html.Img(src=s["thumbnail"], className="me-2 border bg-black", width=64, height=64,
                      alt=f"序列 {s['number']}") if s.get("thumbnail") else None)
    thick = f" · 层厚 {s['slice_thickness']:g} mm" if s.get("slice_thickness") else ""
    kernel = f" · {s['kernel']}" if s.get("kernel") else ""
    return html.Span([thumb, html.Span(f"#{s['number'] or '—'} {s['description'] or ''} · {s['modality']} · "
                                       f"{s['images']} 幅{thick}{kernel}")],
                     className="d-inline-flex align-items-center")


def _prior_card(p: dict[str, Any], chosen: str | None) -> Any:
    options = [{"label": _series_label(s), "value": f"{p['study_uid']}|{s['uid']}"} for s in p["series"]]
    head = html.Div([
        html.Strong(p["date"] or "日期不详", className="me-3"), html.Span(p["item"] or "—", className="me-3"),
        dbc.Badge(p["modality"] or "—", color="dark", className="me-2"),
        html.Span(f"{p['series_count']} 个序列 · {p['image_count']} 幅图像", className="small text-muted me-2"),
        html.Span(f"检查号 {p['accession']}" if p["accession"] else "", className="small font-monospace"),
        dbc.Badge("胸部 CT", color="info", className="ms-2") if p["chest_ct"] else None,
        dbc.Badge("远程", color="warning", text_color="dark", className="ms-2 recon-remote",
                  title=f"远程影像库 {p.get('archive') or ''}：引用后发送时先调取到本院影像库")
        if p.get("source") == "remote" else None,
    ])
    return dbc.Card(dbc.CardBody([
        head,
        dbc.RadioItems(id={"type": "recon-series", "study": p["study_uid"]}, options=options, value=chosen,
                       className="mt-2 recon-series"),
    ]), className="mb-2 recon-prior", id={"type": "recon-prior", "study": p["study_uid"]})


def _link_line(link: dict[str, Any] | None) -> Any:
    if not link:
        return html.Div("尚未引用历史图像：请选择一个历史检查的序列作为靶重建源图像。", className="small text-muted")
    parts: list[Any] = [html.Span("源图像：", className="me-1"),
                        html.Span(link["source_accession"] or link["source_study_uid"],
                                  className="font-monospace me-2"),
                        dbc.Badge(link["state_label"], color=STATE_COLORS.get(link["state"], "secondary"),
                                  id="recon-state", className="me-2"),
                        html.Span(f"{link['sent']}/{link['total']} 幅 · {link['linked_by']} {link['linked_at']}",
                                  className="small text-muted")]
    if link.get("reason"):
        parts.append(html.Div(link["reason"], className="small text-danger mt-1"))
    return html.Div(parts, id="recon-link-line")


HIDDEN = {"display": "none"}


def _buttons(link: dict[str, Any] | None) -> list[Any]:
    """Styles of 撤销引用, 重新发送 and 引用所选序列: each shown only when the link's state allows it."""
    def show(flag: bool) -> dict[str, str]:
        return {} if flag else HIDDEN
    return [show(bool(link and link["undoable"])), show(bool(link and link["resendable"])), show(link is None)]


def _render(accession: str, note: str = "") -> tuple[Any, ...]:
    actor = page_actor()
    if actor is None:
        return dash.no_update, EXPIRED, True, *_buttons(None)
    try:
        data = recon.priors(services(), accession, by=actor)
    except DomainError as exc:
        return [], exc.message, True, HIDDEN, HIDDEN, HIDDEN
    first = next((p for p in data["priors"] if p["default_series"]), None)
    cards = [_prior_card(p, f"{p['study_uid']}|{p['default_series']}" if p is first else None)
             for p in data["priors"]]
    if not cards:
        cards = [html.Div("该患者在影像库中没有历史影像检查", className="text-muted py-4 text-center",
                          id="recon-empty")]
    notice = ([dbc.Alert(data["notice"], color="warning", className="py-2 small", id="recon-remote-notice")]
              if data.get("notice") else [])
    told = [dbc.Alert(note, color="info", className="py-2 small", id="recon-note")] if note else []
    return [_link_line(data["link"]), *told, *notice, *cards], "", False, *_buttons(data["link"])


def _open(invoked: dict[str, Any] | None, _close: Any) -> tuple[Any, ...]:
    if ctx.triggered_id == "recon-close":
        return (False,) + (dash.no_update,) * 8
    if not invoked or invoked.get("action") != ACTION or not invoked.get("accession"):
        return (dash.no_update,) * 9
    accession = str(invoked["accession"])
    return True, accession, f"引用历史图像 · {accession}", *_render(accession)


def _act(_confirm: Any, _undo: Any, _resend: Any, accession: str | None, values: list[str | None],
         bump: int | None) -> tuple[Any, ...]:
    actor = page_actor()
    keep = (dash.no_update,) * 3
    if not accession or ctx.triggered_id is None:
        return (dash.no_update,) * 7
    if actor is None:
        return dash.no_update, EXPIRED, True, *keep, dash.no_update
    svc = services()
    note = ""
    try:
        if ctx.triggered_id == "recon-confirm":
            picked = next((v for v in reversed(values or []) if v), None)
            if picked is None:
                return dash.no_update, "请先选择一个序列", True, *keep, dash.no_update
            study_uid, series_uid = picked.split("|", 1)
            recon.link(svc, accession, study_uid=study_uid, series_uid=series_uid, by=actor)
        elif ctx.triggered_id == "recon-undo":
            note = f"已撤销引用。{recon.unlink(svc, accession, by=actor).get('exam_note') or ''}"
        elif ctx.triggered_id == "recon-resend":
            recon.resend(svc, accession, by=actor)
    except DomainError as exc:
        return dash.no_update, exc.message, True, *keep, dash.no_update
    return *_render(accession, note), (bump or 0) + 1


def _one_choice(values: list[str | None]) -> list[Any]:
    """The series radios of all priors act as one group: the last one clicked stays chosen."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict):
        return [dash.no_update] * len(values)
    return [dash.no_update if ctx.outputs_list[i]["id"] == trig else None for i in range(len(values))]


def _refresh(bump: int | None, current: int | None) -> Any:
    return (current or 0) + 1 if bump else dash.no_update


def _button_outputs(*, duplicate: bool = False) -> list[Output]:
    return [Output(b, "style", allow_duplicate=duplicate) for b in ("recon-undo", "recon-resend", "recon-confirm")]


def register(app: dash.Dash) -> None:
    app.callback(Output("recon-dialog", "is_open"), Output("recon-accession", "data"),
                 Output("recon-title", "children"), Output("recon-priors", "children"),
                 Output("recon-error", "children"), Output("recon-error", "is_open"), *_button_outputs(),
                 Input("exams-menu-invoked", "data"), Input("recon-close", "n_clicks"),
                 prevent_initial_call=True)(_open)
    app.callback(Output("recon-priors", "children", allow_duplicate=True),
                 Output("recon-error", "children", allow_duplicate=True),
                 Output("recon-error", "is_open", allow_duplicate=True), *_button_outputs(duplicate=True),
                 Output("recon-bump", "data"),
                 Input("recon-confirm", "n_clicks"), Input("recon-undo", "n_clicks"),
                 Input("recon-resend", "n_clicks"), State("recon-accession", "data"),
                 State({"type": "recon-series", "study": dash.ALL}, "value"), State("recon-bump", "data"),
                 prevent_initial_call=True)(_act)
    app.callback(Output({"type": "recon-series", "study": dash.ALL}, "value"),
                 Input({"type": "recon-series", "study": dash.ALL}, "value"), prevent_initial_call=True)(_one_choice)
    app.callback(Output("exams-refresh", "data", allow_duplicate=True), Input("recon-bump", "data"),
                 State("exams-refresh", "data"), prevent_initial_call=True)(_refresh)


add_action(MenuAction(ACTION, LABEL, Perm.RECON_LINK, _applies, order=12))
if components not in MENU_COMPONENTS:
    MENU_COMPONENTS.append(components)
