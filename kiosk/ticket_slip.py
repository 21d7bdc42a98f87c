"""The printed queue slip (/kiosk/<terminal>/ticket/<id>): number, queue/room, people ahead, masked name, time
and a Code 128 barcode of the accession (a re-scan at any kiosk shows the ticket again), drawn as SVG on the
server (no CDN); fits 58 mm and 80 mm receipt paper; the browser's print dialog opens by itself."""

from __future__ import annotations

import base64
from typing import Any

import dash
from dash import Input, Output, html
from reportlab.graphics import renderSVG
from reportlab.graphics.barcode import createBarcodeDrawing

from backend.domain.errors import DomainError
from backend.domain.queue_flow import MISSED_INSTRUCTION
from backend.services.patient_flow import kiosks
from backend.web import enrolment
from backend.web.callback_guard import device
from backend.web.context import services

ACCESS = device("kiosk")  # who may call this page's callbacks (backend/web/callback_guard.py)


def barcode_svg(value: str) -> str:
    """A Code 128 barcode of `value` as a data: URI (SVG)."""
    drawing = createBarcodeDrawing("Code128", value=value, barHeight=48, barWidth=1.4, humanReadable=True)
    svg = renderSVG.drawToString(drawing)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def layout(terminal: str | None = None, ticket_id: str | None = None, **_: Any) -> Any:
    """The slip, as wide as the receipt paper (58 or 80 mm); a button prints again."""
    try:
        slip = kiosks.ticket_slip(services(), int(ticket_id or 0))
        info = kiosks.terminal_info(services(), terminal or "")
    except (DomainError, ValueError):
        return html.Div("凭条不存在", className="kiosk-error")
    if (not_enrolled := enrolment.gate("kiosk", info["code"], path=f"/kiosk/{info['code']}")) is not None:
        return not_enrolled  # a slip is printed by the kiosk that checked the patient in, nobody else
    return html.Div([
        html.Link(rel="stylesheet", href="/static/kiosk.css"),
        html.Div([
            html.Div(f"{services().settings.hospital_name} {services().settings.department_name}"),
            html.Div("排队凭条", className="fw-bold"),
            html.Div(slip["code"], className="kiosk-number", id="slip-code"),
            html.Div(f"{slip['queue_name']}{' · ' + slip['room_name'] if slip['room_name'] else ''}",
                     id="slip-where"),
            html.Div(f"前面还有 {slip['people_ahead']} 人", id="slip-ahead"),
            html.Div(slip["masked_name"], id="slip-name"),
            html.Div(f"签到时间 {slip['checked_in']}", id="slip-time"),
            html.Img(src=barcode_svg(slip["accession"]), id="slip-barcode", className="kiosk-slip-barcode"),
            html.Div(f"听到叫号请到对应诊室检查；{MISSED_INSTRUCTION}", className="small", id="slip-note"),
            html.Div(info["name"], className="small"),
        ], className="kiosk-slip", id="slip"),
        html.Button("打印", id="slip-print", n_clicks=0, className="kiosk-btn kiosk-noprint mt-3"),
    ], className="kiosk-slip-page")


PRINT_JS = "function(n) { setTimeout(function() { window.print(); }, 300); return 0; }"


def register(app: dash.Dash) -> None:
    # order=0: Dash tries page templates in registry order and `<terminal>` matches across "/", so the kiosk
    # page (/kiosk/<terminal>) would catch /kiosk/K1/ticket/165 (issue 14.3); the longer template goes first.
    dash.register_page(__name__, path_template="/kiosk/<terminal>/ticket/<ticket_id>", title="排队凭条",
                       name="排队凭条", layout=layout, order=0)
    app.clientside_callback(PRINT_JS, Output("slip-print", "value"), Input("slip-print", "n_clicks"))
