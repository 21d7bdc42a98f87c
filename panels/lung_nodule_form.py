"""The report editor's form for a "lung_nodules" section (LN-9): nodule rows to add and remove, other
findings, the live suggested Lung-RADS category (the domain's rules, through the reporting service) and the
doctor's override with its reason. The section's value travels in a dcc.Store {"type": "rep-struct", "key"}
that the editor's save/submit callback reads like the text sections.

Series and image numbers are picked from the web viewer (LN-9): the viewer, open in another tab or window of
the same browser, keeps the image it shows in localStorage (`radops.viewer.<accession>`, see assets/viewer.js);
a row's 取当前图像 reads it in the browser (a clientside callback) and fills the row's series and image. Key
images marked there (标记关键图像, `radops.viewer.keys.<accession>`) come in with 导入关键图像, go into the
section value as `key_images` (checked by the domain) and print in the PDF. localStorage rather than a
BroadcastChannel: the editor reads what the viewer *last* showed even when it was opened afterwards, and no
server state per user is needed; it holds only UIDs and numbers, never names.

Its callbacks are bound by `panels.report_editor.register`, under that page's ACCESS.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html

from backend.domain import lung_nodule_section as section
from backend.domain import lung_rads as rules
from backend.domain.errors import DomainError
from backend.services.reporting import lung_rads
from backend.web.context import page_actor, services
from panels.shell import EXPIRED

INT_FIELDS = ("series", "image", "stable_months")
TYPE_OPTIONS = [{"label": label, "value": kind.value} for kind, label in rules.TYPE_LABELS.items()]
CHANGE_OPTIONS = [{"label": "—", "value": ""}, *({"label": label, "value": c.value}
                                                 for c, label in rules.CHANGE_LABELS.items())]
LOBE_OPTIONS = [{"label": "—", "value": ""}, *({"label": label, "value": code}
                                               for code, label in section.LOBES.items())]
GRADE_OPTIONS = [{"label": label, "value": code} for code, label in section.GRADES.items()]
# dbc.Select always draws a hidden placeholder <option value=""> first, which hides an option of ours with the
# value "": the select showed blank for "no override" / "—". The placeholder carries that option's label.
NO_OVERRIDE = "不调整（采用建议分类）"
CATEGORY_COLORS = {"0": "secondary", "1": "success", "2": "success", "3": "warning", "4A": "danger",
                   "4B": "danger", "4X": "danger", "4": "danger"}


def _num(row: int, field: str, value: Any, placeholder: str, width: str = "4.5rem", step: str = "0.1") -> Any:
    return dbc.Input(id={"type": "ln-field", "row": row, "field": field}, type="number", value=value, min=0,
                     step=step, placeholder=placeholder, size="sm", style={"width": width})


def _row(i: int, n: dict[str, Any], disabled: bool) -> Any:
    def fid(field: str) -> dict[str, Any]:
        return {"type": "ln-field", "row": i, "field": field}

    cells = [
        html.Span(f"{i + 1}", className="fw-semibold me-1"),
        dbc.Select(id=fid("lobe"), options=LOBE_OPTIONS, value=n.get("lobe") or "", size="sm", placeholder="—",
                   style={"width": "6.5rem"}),
        dbc.Input(id=fid("segment"), value=n.get("segment") or "", placeholder="肺段", size="sm", maxLength=40,
                  style={"width": "5.5rem"}),
        _num(i, "series", n.get("series"), "序列", "4rem", "1"),
        _num(i, "image", n.get("image"), "图像", "4rem", "1"),
        dbc.Select(id=fid("type"), options=TYPE_OPTIONS, value=n.get("type") or "solid", size="sm",
                   style={"width": "8.5rem"}),
        _num(i, "long_mm", n.get("long_mm"), "长径"),
        _num(i, "short_mm", n.get("short_mm"), "短径"),
        _num(i, "solid_long_mm", n.get("solid_long_mm"), "实性长"),
        _num(i, "solid_short_mm", n.get("solid_short_mm"), "实性短"),
        _num(i, "volume_mm3", n.get("volume_mm3"), "体积", "5rem", "1"),
        dbc.Select(id=fid("change"), options=CHANGE_OPTIONS, value=n.get("change") or "", size="sm",
                   placeholder="—", style={"width": "5rem"}),
        _num(i, "stable_months", n.get("stable_months"), "稳定月", "4.5rem", "1"),
        dbc.Checkbox(id=fid("suspicious_features"), value=bool(n.get("suspicious_features")), label="可疑征象",
                     className="small"),
        dbc.Button("取当前图像", id={"type": "ln-pick", "row": i}, color="outline-secondary", size="sm", n_clicks=0,
                   className="py-0", disabled=disabled, title="取影像浏览（另一标签页）当前显示的序列号和图像号"),
        html.Span(id={"type": "ln-pick-msg", "row": i}, className="small text-muted"),
        dbc.Button("删除", id={"type": "ln-remove", "row": i}, color="link", size="sm", n_clicks=0,
                   className="text-danger p-0", disabled=disabled),
    ]
    return html.Div(cells, className="d-flex flex-wrap align-items-center gap-1 mb-1 ln-row",
                    id={"type": "ln-row", "row": i})


def _rows(nodules: list[dict[str, Any]], disabled: bool) -> list[Any]:
    return [_row(i, n, disabled) for i, n in enumerate(nodules)]


def suggestion(value: dict[str, Any] | None, error: str = "") -> Any:
    """The live suggestion card: category badge, per-nodule categories, recommendation (or the refusal)."""
    if error:
        return dbc.Alert(error, color="danger", className="py-1 mb-2 small", id="ln-error")
    if not value or "suggested" not in value:
        return html.Div("填写结节后显示建议分类", className="small text-muted")
    s = value["suggested"]
    label = s["category"] + "".join(s.get("modifiers") or [])
    per = "；".join(f"结节{i}：{r['mean_mm']:.1f} mm → {r['category']}" for i, r in enumerate(s["nodules"], 1))
    stated = section.final_category(value)
    return html.Div([
        html.Div([html.Span("建议分类：", className="fw-semibold"),
                  dbc.Badge(label, color=CATEGORY_COLORS.get(s["category"], "secondary"), id="ln-category",
                            className="fs-6 me-2"),
                  html.Span(s.get("system_label", ""), className="small text-muted"),
                  html.Span(f"（结论分类 {stated}）" if stated != label else "", className="ms-2 small text-danger",
                            id="ln-stated")]),
        html.Div(per, className="small", id="ln-per-nodule") if per else None,
        html.Div(["处理建议：", section.recommendation(value)], className="small", id="ln-recommendation"),
    ], className="border rounded p-2 mb-2 bg-light", id="ln-suggestion")


def key_list(keys: list[dict[str, Any]] | None) -> Any:
    """The key images of the section: a thumbnail (the viewer's rendered frame) over its series/image."""
    if not keys:
        return html.Span("尚无关键图像（在影像浏览中“标记关键图像”后点“导入关键图像”）", className="small text-muted")
    items = []
    for k in keys:
        src = (f"/dicomweb/studies/{k.get('study_uid')}/series/{k.get('series_uid')}/instances/{k.get('sop_uid')}"
               "/rendered?viewport=96,96")
        items.append(html.Figure([html.Img(src=src, alt="关键图像", style={"width": "96px", "height": "96px",
                                                                          "objectFit": "contain",
                                                                          "background": "#000"}),
                                  html.Figcaption(section.key_caption(k), className="small text-center")],
                                 className="me-2 mb-1 ln-key-image"))
    return html.Div(items, className="d-flex flex-wrap")


def form(key: str, value: dict[str, Any] | None, editable: bool, system: str, accession: str = "") -> Any:
    """The section's form; `system` is the hospital's default for a section not yet written; `accession`
    names the exam whose viewer position and key images the form reads (LN-9)."""
    v = value or {}
    other = v.get("other") or {}
    override = v.get("override") or {}
    sys = rules.parse_system(v.get("system") or system)
    categories = [{"label": NO_OVERRIDE, "value": ""},
                  *({"label": c, "value": c} for c in rules.ORDER[sys])]
    return html.Fieldset([
        dcc.Store(id={"type": "rep-struct", "key": key}, data=value),
        dcc.Store(id="ln-system", data=sys.value),
        dcc.Store(id="ln-accession", data=accession),
        dcc.Store(id="ln-keys", data=list(v.get("key_images") or [])),
        dbc.Row([
            dbc.Col(dbc.RadioItems(id="ln-exam", value=v.get("exam") or "baseline", inline=True,
                                   options=[{"label": lbl, "value": k} for k, lbl in section.EXAM_LABELS.items()]),
                    width="auto"),
            dbc.Col(dbc.Checkbox(id="ln-prior", value=v.get("prior_available", True) is not False,
                                 label="既往CT可供对比"), width="auto"),
            dbc.Col(dbc.Checkbox(id="ln-none", value=bool(v.get("no_nodules")), label="未见肺结节"), width="auto"),
            dbc.Col(html.Span(f"分类体系：{rules.SYSTEM_LABELS[sys]}", className="small text-muted"), width="auto"),
        ], className="g-3 mb-2 align-items-center"),
        html.Div("编号 · 肺叶 · 肺段 · 序列 · 图像 · 类型 · 长径/短径(mm) · 实性成分长/短径(mm) · 体积(mm³) · "
                 "与既往比较 · 稳定月数", className="small text-muted mb-1"),
        html.Div(_rows(list(v.get("nodules") or []), not editable), id="ln-rows"),
        dbc.Button("＋ 添加结节", id="ln-add", color="outline-primary", size="sm", n_clicks=0, className="mb-2"),
        dbc.Row([
            dbc.Col([dbc.Label("肺气肿", className="small mb-0"),
                     dbc.Select(id="ln-emphysema", options=GRADE_OPTIONS, value=other.get("emphysema") or "none",
                                size="sm")], md=2),
            dbc.Col([dbc.Label("冠状动脉钙化", className="small mb-0"),
                     dbc.Select(id="ln-cac", options=GRADE_OPTIONS,
                                value=other.get("coronary_calcification") or "none", size="sm")], md=2),
            dbc.Col([dbc.Label("其他发现", className="small mb-0"),
                     dbc.Input(id="ln-other", value=other.get("findings") or "", size="sm", maxLength=2000,
                               placeholder="如：甲状腺结节、主动脉瘤")], md=5),
            dbc.Col(dbc.Checkbox(id="ln-significant", value=bool(other.get("significant")),
                                 label="具临床意义（S）", className="mt-3"), md=3),
        ], className="mb-2"),
        html.Div([
            html.Span("关键图像", className="small fw-semibold me-2"),
            html.A("打开影像浏览", href=f"/panels/viewer/{accession}", target="_blank", className="small me-2",
                   id="ln-open-viewer"),
            dbc.Button("导入关键图像", id="ln-key-import", color="outline-warning", size="sm", n_clicks=0,
                       className="py-0 me-1"),
            dbc.Button("清除关键图像", id="ln-key-clear", color="link", size="sm", n_clicks=0,
                       className="py-0 text-danger"),
            html.Span(id="ln-key-msg", className="small text-muted ms-2"),
            html.Div(key_list(v.get("key_images")), id="ln-key-list", className="mt-1"),
        ], className="border rounded p-2 mb-2"),
        html.Div(suggestion(value), id="ln-suggest"),
        dbc.Row([
            dbc.Col([dbc.Label("调整分类", className="small mb-0"),
                     dbc.Select(id="ln-override", options=categories, value=override.get("category") or "",
                                size="sm", placeholder=NO_OVERRIDE)], md=3),
            dbc.Col([dbc.Label("调整原因（调整时必填）", className="small mb-0"),
                     dbc.Input(id="ln-override-reason", value=override.get("reason") or "", size="sm",
                               maxLength=2000)], md=9),
        ]),
    ], disabled=not editable, className="border rounded p-2 lung-nodule-form")


def _collected(values: list[Any], ids: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodule rows as the page holds them, in row order (empty inputs left out)."""
    rows: dict[int, dict[str, Any]] = {}
    for i, v in zip(ids, values, strict=True):
        row = rows.setdefault(int(i["row"]), {})
        if v is None or v == "":
            continue
        if i["field"] in INT_FIELDS and isinstance(v, float) and v.is_integer():
            v = int(v)
        row[i["field"]] = v
    return [rows[k] for k in sorted(rows)]


def _restructure(_add: Any, _removes: Any, values: list[Any], ids: list[dict[str, Any]]) -> Any:
    """Add an empty nodule row or remove one; the other rows keep what was typed."""
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered[0]["value"]:
        return dash.no_update
    rows = _collected(values, ids)
    if trigger == "ln-add":
        rows.append({"type": "solid"})
    elif isinstance(trigger, dict) and trigger.get("type") == "ln-remove":
        rows = [r for i, r in enumerate(rows) if i != int(trigger["row"])]
    return _rows(rows, False)


def _value(values: list[Any], ids: list[dict[str, Any]], exam: str, prior: bool, none: bool, emphysema: str,
           cac: str, other: str, significant: bool, override: str, reason: str, system: str,
           keys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"system": system, "exam": exam or "baseline", "prior_available": bool(prior), "no_nodules": bool(none),
            "nodules": _collected(values, ids), "key_images": list(keys or []),
            "other": {"emphysema": emphysema or "none", "coronary_calcification": cac or "none",
                      "findings": other or "", "significant": bool(significant)},
            "override": {"category": override or None, "reason": reason or ""}}


def _suggest(values: list[Any], ids: list[dict[str, Any]], exam: str, prior: bool, none: bool, emphysema: str,
             cac: str, other: str, significant: bool, override: str, reason: str, system: str,
             keys: list[dict[str, Any]] | None = None) -> Any:
    """Recompute the suggestion on every change; the store keeps what the doctor typed for save/submit."""
    raw = _value(values, ids, exam, prior, none, emphysema, cac, other, significant, override, reason, system,
                 keys)
    actor = page_actor()
    if actor is None:
        return raw, suggestion(None, EXPIRED)
    try:
        checked = lung_rads.preview_section(services(), raw, by=actor)
    except DomainError as exc:
        return raw, suggestion(None, exc.message)
    return raw, suggestion(checked)


def default_system() -> str:
    return lung_rads.default_system(services()).value


def register_callbacks(app: Any) -> None:
    app.callback(Output("ln-rows", "children"), Input("ln-add", "n_clicks"),
                 Input({"type": "ln-remove", "row": ALL}, "n_clicks"),
                 State({"type": "ln-field", "row": ALL, "field": ALL}, "value"),
                 State({"type": "ln-field", "row": ALL, "field": ALL}, "id"),
                 prevent_initial_call=True)(_restructure)
    app.callback(Output({"type": "rep-struct", "key": ALL}, "data"), Output("ln-suggest", "children"),
                 Input({"type": "ln-field", "row": ALL, "field": ALL}, "value"),
                 State({"type": "ln-field", "row": ALL, "field": ALL}, "id"),
                 Input("ln-exam", "value"), Input("ln-prior", "value"), Input("ln-none", "value"),
                 Input("ln-emphysema", "value"), Input("ln-cac", "value"), Input("ln-other", "value"),
                 Input("ln-significant", "value"), Input("ln-override", "value"),
                 Input("ln-override-reason", "value"), State("ln-system", "data"), Input("ln-keys", "data"),
                 prevent_initial_call=True)(_wrap_all)
    app.callback(Output("ln-key-list", "children"), Input("ln-keys", "data"), prevent_initial_call=True)(key_list)
    app.clientside_callback(PICK_JS, Output({"type": "ln-field", "row": MATCH, "field": "series"}, "value"),
                            Output({"type": "ln-field", "row": MATCH, "field": "image"}, "value"),
                            Output({"type": "ln-pick-msg", "row": MATCH}, "children"),
                            Input({"type": "ln-pick", "row": MATCH}, "n_clicks"), State("ln-accession", "data"),
                            prevent_initial_call=True)
    app.clientside_callback(KEYS_JS, Output("ln-keys", "data"), Output("ln-key-msg", "children"),
                            Input("ln-key-import", "n_clicks"), Input("ln-key-clear", "n_clicks"),
                            State("ln-keys", "data"), State("ln-accession", "data"), prevent_initial_call=True)


# The viewer's position and marks live in this browser's localStorage (assets/viewer.js); these run in the
# browser and only copy numbers and UIDs into the form, which the domain checks again on save.
PICK_JS = """function (n, accession) {
  var nu = window.dash_clientside.no_update;
  if (!n) { return [nu, nu, nu]; }
  var pos = null;
  try {
    pos = JSON.parse(window.localStorage.getItem("radops.viewer." + accession) || "null");
  } catch (e) { pos = null; }
  if (!pos || pos.accession !== accession) {
    return [nu, nu, "请先在影像浏览中打开本检查并翻到该图像"];
  }
  function shown(v) { return v === null || v === undefined ? "—" : v; }
  return [shown(pos.series) === "—" ? nu : pos.series, shown(pos.image) === "—" ? nu : pos.image,
          "已取：序列 " + shown(pos.series) + " / 图像 " + shown(pos.image)];
}"""

KEYS_JS = """function (imp, clear, keys, accession) {
  var ctx = window.dash_clientside.callback_context;
  var which = ctx.triggered.length ? ctx.triggered[0].prop_id.split(".")[0] : "";
  var nu = window.dash_clientside.no_update;
  if (which === "ln-key-clear") { return [[], "已清除关键图像（保存后生效）"]; }
  if (which !== "ln-key-import") { return [nu, nu]; }
  var name = "radops.viewer.keys." + accession, marked = [];
  try { marked = JSON.parse(window.localStorage.getItem(name) || "[]"); } catch (e) { marked = []; }
  if (!Array.isArray(marked) || !marked.length) { return [nu, "影像浏览中尚未标记关键图像"]; }
  var out = (keys || []).slice();
  marked.forEach(function (k) {
    if (k.accession !== accession || out.some(function (o) { return o.sop_uid === k.sop_uid; })) { return; }
    out.push({study_uid: k.study_uid, series_uid: k.series_uid, sop_uid: k.sop_uid, frame: k.frame || 1,
              window: k.window || null, series: k.series, image: k.image});
  });
  out = out.slice(0, """ + str(section.MAX_KEY_IMAGES) + """);
  try { window.localStorage.removeItem(name); } catch (e) { /* nothing to clear */ }
  return [out, "已导入 " + out.length + " 幅关键图像（保存后生效）"];
}"""


def _wrap_all(*args: Any) -> Any:
    """One store per lung section; the form supports one such section per template."""
    raw, card = _suggest(*args)
    count = len(ctx.outputs_list[0]) if ctx.outputs_list else 1
    return [raw] * count, card
