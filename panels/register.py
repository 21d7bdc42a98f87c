"""Registration (登记) panel: patient and order fields, the slot picker only when a slot is needed."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html

from backend.domain.actor import Actor
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.domain.registration import OrderData, PatientData, slot_required
from backend.services.orders import catalog, patient_lookup, registration
from backend.web.callback_guard import staff
from backend.web.context import page_actor, services
from panels.register_form import HIDDEN, order_card, patient_card, slot_card
from panels.shell import EXPIRED, staff_page

ACCESS = staff(Perm.EXAM_REGISTER)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/register"
PATIENT_FIELDS = ["reg-name", "reg-sex", "reg-birth", "reg-idcard", "reg-phone", "reg-insurance", "reg-cadre",
                  "reg-military"]


def _today() -> str:
    svc = services()
    return svc.clock().astimezone(svc.tz).date().isoformat()


def _items(actor: Actor) -> list[dict[str, Any]]:
    queues = {q["id"]: q["campus_id"] for q in catalog.queues(services())}
    campus_code = {c["id"]: c["code"] for c in catalog.campuses(services())}
    return [{"code": i["code"], "name": i["name"], "modality_label": i["modality_label"],
             "needs_slot": i["needs_slot"], "campus": campus_code.get(queues.get(i["queue_id"], -1))}
            for i in catalog.exam_items(services(), by=actor)]


def _body(actor: Actor) -> Any:
    items = _items(actor)
    return html.Div([
        html.Div([html.H4("登记", className="mb-0 me-3"),
                  html.Span("带 * 为必填；需预约的项目请选择号源，无需预约的项目登记后直接进入“已登记”。",
                            className="small text-muted")], className="d-flex align-items-baseline mb-2"),
        html.Div(id="reg-result"),
        dbc.Row([dbc.Col(patient_card(), lg=5), dbc.Col(order_card(items, catalog.campuses(services())), lg=7)],
                className="g-3"),
        slot_card(_today()),
        html.Div([
            dbc.Button("提交登记", id="reg-submit", color="primary", className="px-4 me-2"),
            html.A("清空表单", href=PATH, className="btn btn-outline-secondary me-2", id="reg-reset"),
            html.A("检查列表", href="/panels/exams", className="btn btn-link"),
        ], className="mt-3 mb-4"),
        dcc.Store(id="reg-items", data=items), dcc.Store(id="reg-slot-refresh", data=0),
    ])


def layout(**_query: Any) -> Any:
    return staff_page(Perm.EXAM_REGISTER, PATH, _body)


def _item(items: list[dict[str, Any]] | None, code: str | None) -> dict[str, Any] | None:
    return next((i for i in items or [] if i["code"] == code), None)


def _lookup(_n: Any, _s: Any, mrn: str | None) -> list[Any]:
    """Fill the patient card from an existing patient with this MRN (病案号)."""
    actor = page_actor()
    keep = [dash.no_update] * len(PATIENT_FIELDS)
    if actor is None or not (mrn or "").strip():
        return [*keep, html.Span("请先输入病案号", className="text-warning")]
    try:
        p = patient_lookup.find_by_mrn(services(), mrn or "", by=actor)
    except DomainError as exc:
        return [*keep, html.Span(exc.message, className="text-danger")]
    if p is None:
        return [*keep, html.Span("未找到该病案号，将新建患者", className="text-muted")]
    return [p["name"], p["sex"], p["birth_date"], p["id_card"], p["phone"], p["insurance_no"], p["cadre_health"],
            p["military"],
            html.Span(f"已调取患者，既往检查 {p['exam_count']} 次", className="text-success")]


def _slot_visibility(code: str | None, klass: str | None, items: Any, campus: str | None) -> tuple[Any, Any, Any]:
    """LN-2: the picker opens only when the rule says a slot is required (never for CT-LN-TR)."""
    item = _item(items, code)
    if item is None:
        return HIDDEN, "", campus
    campus = item["campus"] or campus
    if not item["needs_slot"]:
        return HIDDEN, dbc.Badge("无需预约号源", color="success", id="reg-no-slot"), campus
    if not slot_required(needs_slot=True, patient_class=klass or "outpatient"):
        return HIDDEN, dbc.Badge("急诊无需预约，直接登记", color="warning", text_color="dark", id="reg-no-slot"), campus
    return {"display": "block"}, dbc.Badge("需预约号源，请在下方选择", color="info", id="reg-needs-slot"), campus


def _slots(code: str | None, day: str | None, _bump: Any, items: Any) -> tuple[Any, ...]:
    """That day's slots of the item's queue, with what remains; past and full ones disabled."""
    actor = page_actor()
    item = _item(items, code)
    if actor is None or item is None or not item["needs_slot"] or not day:
        return [], None, "", ""
    try:
        slots = registration.available_slots(services(), item["code"], date.fromisoformat(day), by=actor)
    except (DomainError, ValueError):
        return [], None, "日期无效", ""
    opts = []
    for s in slots:
        state = "已过" if s["past"] else ("已满" if s["remaining"] <= 0 else f"余 {s['remaining']}/{s['capacity']}")
        opts.append({"label": f"{s['label']}  {state}", "value": s["id"], "disabled": s["past"] or s["remaining"] <= 0})
    free = sum(1 for o in opts if not o["disabled"])
    empty = "" if opts else "该日没有号源，请选择其他日期。"
    return opts, None, empty, f"{day} 共 {len(opts)} 个时段，可约 {free} 个"


def _order(v: dict[str, Any], item: dict[str, Any]) -> OrderData:
    needs = slot_required(needs_slot=item["needs_slot"], patient_class=v["klass"] or "outpatient")
    birth = date.fromisoformat(v["birth"]) if v["birth"] else None
    patient = PatientData(mrn=(v["mrn"] or "").strip(), name=(v["name"] or "").strip(), sex=v["sex"] or "U",
                          birth_date=birth, id_card=(v["idcard"] or "").strip() or None,
                          phone=(v["phone"] or "").strip() or None, insurance_no=(v["insurance"] or "").strip() or None,
                          cadre_health=bool(v["cadre"]), military=bool(v["military"]))
    return OrderData(patient=patient, item_code=item["code"], patient_class=v["klass"] or "outpatient",
                     priority=v["priority"] or "routine", campus_code=v["campus"],
                     slot_id=int(v["slot"]) if needs and v["slot"] is not None else None,
                     ordering_department=(v["dept"] or "").strip(), ordering_doctor=(v["doctor"] or "").strip(),
                     clinical_info=(v["clinical"] or "").strip(), source_system="ris")


SUBMIT_STATES = ["mrn", "name", "sex", "birth", "idcard", "phone", "insurance", "cadre", "military", "item", "klass",
                 "priority", "dept", "doctor", "campus", "clinical", "slot"]
_STATE_IDS = {"klass": "reg-class"}


def _success(out: dict[str, Any], item: dict[str, Any], slot: str) -> Any:
    when = f" · 预约时段：{slot}" if slot else ""
    return dbc.Alert([
        html.Div("登记成功", className="fw-semibold"),
        html.Div(["检查号 ", html.Span(out["accession"], className="accession-big", id="reg-accession")]),
        html.Div(f"{item['name']} · 状态：已登记{when}", className="small mb-2", id="reg-success-info"),
        html.A("在检查列表中查看", href=f"/panels/exams?q={out['accession']}", className="btn btn-sm btn-primary me-2",
               id="reg-to-list"),
        html.A("登记新患者", href=PATH, className="btn btn-sm btn-outline-primary"),
        html.Span("（患者信息已保留，可继续为同一患者登记其他项目）", className="small text-muted ms-2"),
    ], color="success", id="reg-success", className="py-2")


def _submit(n: int | None, *args: Any) -> tuple[Any, ...]:
    """Register in one transaction: success shows the accession; a refusal shows why and writes nothing."""
    actor = page_actor()
    v = dict(zip(SUBMIT_STATES, args[:len(SUBMIT_STATES)], strict=True))
    items, bump, slot_opts, day = args[-4], args[-3] or 0, args[-2] or [], args[-1]
    if not n or ctx.triggered_id != "reg-submit":
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update
    if actor is None:
        return _error(EXPIRED), dash.no_update, dash.no_update, dash.no_update
    item = _item(items, v["item"])
    if item is None:
        return _error("请选择检查项目"), dash.no_update, dash.no_update, dash.no_update
    try:
        order = _order(v, item)
        out = registration.register(services(), order, by=actor)
    except ValueError:
        return _error("出生日期格式错误"), dash.no_update, dash.no_update, dash.no_update
    except DomainError as exc:
        return _error(exc.message), dash.no_update, dash.no_update, bump + 1
    chosen = next((o["label"].split()[0] for o in slot_opts if o["value"] == order.slot_id), "")
    slot = f"{day} {chosen}" if order.slot_id is not None and chosen else ""
    return _success(out, item, slot), None, "", bump + 1


def _error(message: str) -> Any:
    return dbc.Alert([html.Strong("未登记："), message], color="danger", id="reg-error", className="py-2")


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path=PATH, title="登记 - RadOps", name="登记", layout=layout)
    app.callback([Output(f, "value", allow_duplicate=True) for f in PATIENT_FIELDS] + [
        Output("reg-lookup-msg", "children")], Input("reg-lookup", "n_clicks"), Input("reg-mrn", "n_submit"),
        State("reg-mrn", "value"), prevent_initial_call=True)(_lookup)
    app.callback(Output("reg-slot-card", "style"), Output("reg-item-hint", "children"), Output("reg-campus", "value"),
                   Input("reg-item", "value"), Input("reg-class", "value"), State("reg-items", "data"),
                   State("reg-campus", "value"))(_slot_visibility)
    app.callback(Output("reg-slot", "options"), Output("reg-slot", "value"), Output("reg-slot-empty", "children"),
                   Output("reg-slot-summary", "children"),
                   Input("reg-item", "value"), Input("reg-slot-day", "value"), Input("reg-slot-refresh", "data"),
                   State("reg-items", "data"))(_slots)
    app.callback(Output("reg-result", "children"), Output("reg-item", "value"), Output("reg-clinical", "value"),
                   Output("reg-slot-refresh", "data"),
                   Input("reg-submit", "n_clicks"),
                   [State(_STATE_IDS.get(k, f"reg-{k}"), "value") for k in SUBMIT_STATES],
                   State("reg-items", "data"), State("reg-slot-refresh", "data"), State("reg-slot", "options"),
                   State("reg-slot-day", "value"), prevent_initial_call=True)(_submit)
