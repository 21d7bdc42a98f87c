"""Admin page /admin/screens: hall screens (大屏) with their layout, assigning a layout (an invalid
file is refused with its line and reason), the validation status of every layout file and a live preview."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.patient_flow import screens
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/screens"
PREVIEW_SCALE = 0.42


def _screen_table(rows: list[dict[str, Any]]) -> Any:
    head = html.Thead(html.Tr([html.Th(h) for h in ("编码", "名称", "院区", "布局", "语音", "脱敏", "预览")]))
    body = [html.Tr([
        html.Td(r["code"]), html.Td(r["name"]), html.Td(r["campus_name"]), html.Td(r["layout"]),
        html.Td(f"开（{r['voice_repeat']} 遍）" if r["voice_enabled"] else "关"),
        html.Td("跟随系统设置" if r["masking"] is None else ("开" if r["masking"] else "关")),
        html.Td(html.A("打开", href=f"/screens/{r['code']}", target="_blank")),
    ]) for r in rows]
    return dbc.Table([head, html.Tbody(body)], bordered=True, hover=True, size="sm", id="screens-table")


def _layout_table(rows: list[dict[str, Any]]) -> Any:
    head = html.Thead(html.Tr([html.Th(h) for h in ("文件", "名称", "尺寸", "校验")]))
    def status(r: dict[str, Any]) -> Any:
        return dbc.Badge("有效", color="success") if r["ok"] else html.Span(r["error"], className="text-danger")

    body = [html.Tr([html.Td(r["file"]), html.Td(r["name"]), html.Td(r["size"]), html.Td(status(r))]) for r in rows]
    return dbc.Table([head, html.Tbody(body)], bordered=True, size="sm", id="screens-layouts")


def _preview(code: str) -> Any:
    w, h = 1920, 1080
    frame = html.Iframe(src=f"/screens/{code}", id="screens-preview-frame", style={
        "width": f"{w}px", "height": f"{h}px", "border": "0", "transform": f"scale({PREVIEW_SCALE})",
        "transformOrigin": "0 0"})
    return html.Div(frame, style={"width": f"{w * PREVIEW_SCALE:.0f}px", "height": f"{h * PREVIEW_SCALE:.0f}px",
                                  "overflow": "hidden", "border": "1px solid #ccd"})


def _body(_actor: Any) -> Any:
    svc = services()
    rows = screens.list_screens(svc)
    layouts = screens.list_layouts(svc)
    first = rows[0] if rows else None
    return html.Div([
        _screen_table(rows),
        dbc.Row([
            dbc.Col(dbc.Select(id="screens-screen", value=str(first["id"]) if first else None,
                               options=[{"label": f"{r['code']} {r['name']}", "value": str(r["id"])} for r in rows]),
                    md=4),
            dbc.Col(dbc.Select(id="screens-layout", value=first["layout"] if first else None, options=[
                {"label": f"{x['file']}（{x['name'] or '无效'}）", "value": x["file"]} for x in layouts]), md=4),
            dbc.Col(dbc.Button("分配布局", id="screens-assign", color="primary"), md=2),
        ], className="g-2 mb-2"),
        html.Div(id="screens-result"),
        html.H5("布局文件", className="mt-3"), _layout_table(layouts),
        html.H5("预览", className="mt-3"),
        html.Div(_preview(first["code"]) if first else "尚无大屏", id="screens-preview"),
    ])


def layout(**_query: Any) -> Any:
    return admin_page(PATH, "大屏管理", _body)


def _bind(app: Any) -> None:
    @app.callback(Output("screens-result", "children"), Output("screens-preview", "children"),
                  Input("screens-assign", "n_clicks"), State("screens-screen", "value"),
                  State("screens-layout", "value"), prevent_initial_call=True)
    def assign(_n: Any, screen_id: str | None, layout_file: str | None) -> Any:
        actor = page_actor()
        if actor is None or not screen_id or not layout_file:
            return dbc.Alert("请选择大屏和布局", color="warning"), no_update
        try:
            out = screens.assign_layout(services(), int(screen_id), layout_file, by=actor)
        except DomainError as exc:
            return dbc.Alert(f"未分配：{exc.message}", color="danger", id="screens-error"), no_update
        return (dbc.Alert(f"已将 {out['code']} 的布局设为 {out['layout']}", color="success", id="screens-ok"),
                _preview(out["code"]))

    @app.callback(Output("screens-preview", "children", allow_duplicate=True), Input("screens-screen", "value"),
                  prevent_initial_call=True)
    def pick(screen_id: str | None) -> Any:
        row = next((r for r in screens.list_screens(services()) if str(r["id"]) == str(screen_id)), None)
        return _preview(row["code"]) if row else no_update


def register(app: dash.Dash) -> None:
    add_admin_link(PATH, "大屏管理")
    register_admin_page(app, __name__, PATH, "大屏管理", layout, _bind)
