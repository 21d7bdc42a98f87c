"""Behind the cockpit: the exams that make up a figure (drill-down) and each panel as a table (export)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.db.models import Exam, ExamItem, Patient
from backend.domain.actor import Actor
from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, PATIENT_CLASS_LABELS
from backend.domain.errors import InvalidInput
from backend.domain.exam_flow import EXAM_STATUS_LABELS, ExamStatus
from backend.domain.metrics import (
    MarkKind,
    Window,
    day_window,
    last_days,
    local_day,
    month_window,
    month_windows,
    same_period_last_year,
)
from backend.domain.permissions import Perm
from backend.services import audit, settings_store
from backend.services.base import Services, Tx, transaction
from backend.services.cockpit import queries as q
from backend.services.cockpit.board import APPROVED, FLOW_KINDS, resolve_as_of

DRILL_LIMIT = 500
FIGURES = tuple(f"CP-{i}" for i in range(1, 16))


def _bad(figure: str, key: str) -> InvalidInput:
    return InvalidInput(f"无法下钻：{figure} {key}".strip(), code="invalid_drill")


def _month_of(tx: Tx, at: datetime, key: str) -> Window:
    """A month of the six-month trend ("2026-06") this year or last year."""
    for w in month_windows(at, tx.tz, 6):
        if f"{w.start_day:%Y-%m}" == key:
            return w
        ly = same_period_last_year(w, tx.tz)
        if f"{ly.start_day:%Y-%m}" == key:
            return ly
    raise _bad("CP-11", key)


def _marks_spec(tx: Tx, at: datetime, figure: str, key: str) -> tuple[tuple[str, ...], Window, dict[str, Any]]:
    month = month_window(at, tx.tz)
    fixed = {"CP-1": ("CT", None), "CP-2": ("MR", None), "CP-3": ("CT", "category"), "CP-4": ("MR", "category")}
    if figure in fixed:
        mod, extra = fixed[figure]
        where: dict[str, Any] = {"modality": (mod,)} | ({extra: (key,)} if extra and key else {})
        return (APPROVED,), month, where
    if figure in ("CP-5", "CP-6"):
        w = month if figure == "CP-5" else same_period_last_year(month, tx.tz)
        return (APPROVED,), w, ({"modality": (key,)} if key else {"modality": ("DX", "MG", "RF")})
    if figure == "CP-7":
        today = day_window(local_day(at, tx.tz), tx.tz)
        w = Window(start=today.start, end=at, start_day=today.start_day)
        return (MarkKind.APPOINTMENT.value,), w, {"category": ("subspecialty",)} | ({"modality": (key,)} if key else {})
    if figure in ("CP-11", "CP-12"):
        return (APPROVED,), _month_of(tx, at, key), {"modality": ("CT" if figure == "CP-11" else "MR",)}
    if figure in ("CP-13", "CP-14"):
        kind, _, day = key.partition(":")
        days = {d.start_day.isoformat(): d for d in last_days(at, tx.tz, 7)}
        if kind not in FLOW_KINDS or day not in days:
            raise _bad(figure, key)
        return (kind,), days[day], {"patient_class": ("outpatient" if figure == "CP-13" else "inpatient",)}
    raise _bad(figure, key)


def _exam_ids(tx: Tx, at: datetime, figure: str, key: str) -> list[int]:
    if figure in ("CP-8", "CP-9", "CP-10"):
        return q.critical_exam_ids(tx, month_window(at, tx.tz))[:DRILL_LIMIT]
    if figure == "CP-15":
        minutes = int(settings_store.get_in(tx, "cockpit.long_wait_min"))
        start = last_days(at, tx.tz, 1)[0].start
        return [r["exam_id"] for r in q.long_waits(tx, start, at, timedelta(minutes=minutes))]
    kinds, w, where = _marks_spec(tx, at, figure, key)
    return q.marked_exam_ids(tx, kinds, w, where, limit=DRILL_LIMIT)


def drill(svc: Services, figure: str, *, key: str = "", by: Actor, as_of: datetime | None = None) -> dict[str, Any]:
    """The exams behind one figure (or one bar/slice of it, named by `key`); needs exam read access."""
    by.require(Perm.EXAM_READ)
    at = resolve_as_of(svc, as_of, by)
    if figure not in FIGURES:
        raise _bad(figure, key)
    with transaction(svc) as tx:
        ids = _exam_ids(tx, at, figure, key)
        rows = _exam_rows(tx, ids)
        audit.record(tx, by, "read", "cockpit_drill", figure, key=key, exams=len(rows))
        return {"figure": figure, "key": key, "as_of": at.isoformat(), "count": len(rows), "exams": rows}


def _exam_rows(tx: Tx, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    order = {exam_id: i for i, exam_id in enumerate(ids)}
    rows = tx.session.execute(
        select(Exam, Patient.name, ExamItem.name).join(Patient, Patient.id == Exam.patient_id)
        .join(ExamItem, ExamItem.id == Exam.exam_item_id).where(Exam.id.in_(ids)))
    out = [{"exam_id": e.id, "accession": e.accession, "patient": name, "item": item,
            "modality": MODALITY_LABELS.get(e.modality_code, e.modality_code),
            "category": CATEGORY_LABELS.get(e.category, e.category),  # type: ignore[call-overload]
            "patient_class": PATIENT_CLASS_LABELS.get(e.patient_class, e.patient_class),  # type: ignore[call-overload]
            "status": EXAM_STATUS_LABELS[ExamStatus(e.status)], "report_status": e.report_status,
            "created_at": e.created_at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M")}
           for e, name, item in rows]
    return sorted(out, key=lambda r: order[r["exam_id"]])


def panel_table(figs: dict[str, Any], figure: str) -> tuple[str, list[str], list[list[Any]]]:
    """One panel of computed figures as (title, header, rows) for CSV / Excel export."""
    from backend.services.cockpit.tables import TABLES

    if figure not in TABLES:
        raise InvalidInput(f"未知面板：{figure}", code="unknown_panel")
    title, header, rows = TABLES[figure](figs[figure])
    return f"{figure} {title}", header, rows


def export(svc: Services, figure: str, fmt: str, *, by: Actor, as_of: datetime | None = None) -> tuple[bytes, str]:
    """One panel as CSV (UTF-8 with BOM, opens in Excel) or XLSX bytes, with a file name."""
    from backend.services.cockpit.board import figures

    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("导出格式只能是 csv 或 xlsx", code="invalid_format")
    figs = figures(svc, by=by, as_of=as_of, mask=not by.can(Perm.EXAM_READ))
    title, header, rows = panel_table(figs, figure)
    name = f"cockpit-{figure}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows(rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8"), name
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = figure
    ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), name
