"""Behind the cockpit: the exams that make up a figure (drill-down) and each panel as a table (export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.db.models import Exam, ExamItem, Patient
from backend.domain.actor import Actor
from backend.domain.critical_flow import NOTIFY_CHANNELS
from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, PATIENT_CLASS_LABELS
from backend.domain.errors import InvalidInput
from backend.domain.exam_flow import EXAM_STATUS_LABELS, ExamStatus
from backend.domain.metrics import (
    DEFAULT_SCOPE,
    MarkKind,
    Window,
    backdated,
    critical_tally,
    day_window,
    last_days,
    local_day,
    month_window,
    month_windows,
    notice_time,
    same_period_last_year,
)
from backend.domain.permissions import Perm
from backend.services import audit, settings_store
from backend.services.base import Services, Tx, transaction
from backend.services.cockpit import queries as q
from backend.services.cockpit.board import (
    APPROVED,
    FLOW_KINDS,
    OTHER_MODALITIES,
    Config,
    config,
    last_year_window,
    resolve_as_of,
)

PAGE_MAX = 500
PAGE_DEFAULT = 100
EXPORT_PAGE = 1000
FIGURES = tuple(f"CP-{i}" for i in range(1, 16))
CRITICAL_FIGURES = ("CP-8", "CP-9", "CP-10")
EXAM_COLUMNS = [("accession", "检查号"), ("patient", "患者"), ("item", "检查项目"), ("modality", "设备"),
                ("category", "类别"), ("patient_class", "患者类别"), ("status", "检查状态"),
                ("counted_at", "计入时间"), ("created_at", "开单时间")]
CRITICAL_COLUMNS = [("accession", "检查号"), ("patient", "患者"), ("item", "检查项目"), ("finding", "危急值内容"),
                    ("raised_at", "上报时间"), ("notified_at", "通知时间（填写）"),
                    ("recorded_at", "通知登记时间"), ("minutes", "用时（分钟）"), ("verdict", "判定"),
                    ("notified_to", "被通知人"), ("notified_via", "通知方式"), ("notified_by", "通知人"),
                    ("flag", "标记")]
WAIT_COLUMNS = [("accession", "检查号"), ("patient", "患者"), ("item", "检查项目"), ("modality", "设备"),
                ("checked_in_at", "签到时间"), ("waited_min", "已等候（分钟）"), ("state", "状态")]
VERDICTS = {"within": "及时", "late": "超时", "pending": "待通知（未超时）"}


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


def _marks_spec(tx: Tx, at: datetime, figure: str, key: str,
                cfg: Config) -> tuple[tuple[str, ...], Window, dict[str, Any], bool]:
    """(mark kinds, window, filters, by booking time) of the marks behind a figure or one of its parts."""
    month = month_window(at, tx.tz)
    done = (cfg.completion,)
    fixed = {"CP-1": ("CT", None), "CP-2": ("MR", None), "CP-3": ("CT", "category"), "CP-4": ("MR", "category")}
    if figure in fixed:
        mod, extra = fixed[figure]
        where: dict[str, Any] = {"modality": (mod,)} | ({extra: (key,)} if extra and key else {})
        return done, month, where, False
    if figure in ("CP-5", "CP-6"):
        w = month if figure == "CP-5" else last_year_window(month, tx.tz, cfg.last_year)
        return done, w, ({"modality": (key,)} if key else {"modality": OTHER_MODALITIES}), False
    scoped = {"modality": cfg.modalities}
    if figure == "CP-7":
        today = day_window(local_day(at, tx.tz), tx.tz)
        w = Window(start=today.start, end=at, start_day=today.start_day)
        where = {"category": ("subspecialty",)} | ({"modality": (key,)} if key else scoped)
        return (MarkKind.APPOINTMENT.value,), w, where, cfg.appointment == "booked"
    if figure in ("CP-11", "CP-12"):
        return (APPROVED,), _month_of(tx, at, key), {"modality": ("CT" if figure == "CP-11" else "MR",)}, False
    if figure in ("CP-13", "CP-14"):
        kind, _, day = key.partition(":")
        days = {d.start_day.isoformat(): d for d in last_days(at, tx.tz, 7)}
        if kind not in FLOW_KINDS or day not in days:
            raise _bad(figure, key)
        cls = {"patient_class": ("outpatient" if figure == "CP-13" else "inpatient",)}
        booked = kind == MarkKind.APPOINTMENT.value and cfg.appointment == "booked"
        return (kind,), days[day], cls | scoped, booked
    raise _bad(figure, key)


def _cursor(after: str) -> tuple[datetime, int] | None:
    if not after:
        return None
    at, _, ident = after.rpartition("|")
    try:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return moment, int(ident)
    except ValueError:
        raise InvalidInput("翻页位置无效", code="invalid_cursor") from None


def _page(tx: Tx, at: datetime, figure: str, key: str, cfg: Config, *, after: str, limit: int,
          with_count: bool) -> tuple[int | None, list[dict[str, Any]], str | None]:
    """(true count, one page of rows, cursor of the next page or None) behind a figure."""
    cursor = _cursor(after)
    if figure in CRITICAL_FIGURES:
        month = month_window(at, tx.tz)
        w = last_year_window(month, tx.tz, cfg.last_year) if key == "last_year" else month
        rows = q.critical_page(tx, w, cfg.modalities, after=cursor, limit=limit + 1)
        total = q.critical_count(tx, w, cfg.modalities) if with_count else None
        more = len(rows) > limit
        rows = rows[:limit]
        out = _critical_rows(tx, rows, w.end, cfg)
        nxt = f"{rows[-1][0].raised_at.isoformat()}|{rows[-1][0].id}" if more and rows else None
        return total, out, nxt
    if figure == "CP-15":
        start = last_days(at, tx.tz, 1)[0].start
        waits = q.long_waits(tx, start, at, timedelta(minutes=cfg.long_wait_min), cfg.modalities)
        return len(waits), _wait_rows(tx, waits), None
    kinds, w, where, by_at = _marks_spec(tx, at, figure, key, cfg)
    query = q.marks_query(tx, kinds, w, where, by_at=by_at)
    marks = q.marks_page(tx, query, after=cursor, limit=limit + 1)
    total = q.marks_count(tx, query) if with_count else None
    more = len(marks) > limit
    marks = marks[:limit]
    nxt = f"{marks[-1][1].isoformat()}|{marks[-1][0]}" if more and marks else None
    return total, _exam_rows(tx, marks), nxt


def drill(svc: Services, figure: str, *, key: str = "", by: Actor, as_of: datetime | None = None,
          scope: str = DEFAULT_SCOPE, after: str = "", limit: int = PAGE_DEFAULT) -> dict[str, Any]:
    """One page of what makes up a figure (or one bar/slice of it, named by `key`), with the true count.

    Exams for the counts (newest first), critical values for CP-8…CP-10 (oldest first), waits for CP-15;
    `after` is the `next` cursor of the previous page (keyset paging). Needs exam read access.
    """
    by.require(Perm.EXAM_READ)
    at = resolve_as_of(svc, as_of, by)
    if figure not in FIGURES:
        raise _bad(figure, key)
    limit = max(1, min(int(limit), PAGE_MAX))
    with transaction(svc) as tx:
        cfg = config(tx, scope)
        total, rows, nxt = _page(tx, at, figure, key, cfg, after=after, limit=limit, with_count=True)
        audit.record(tx, by, "read", "cockpit_drill", figure, key=key, rows=len(rows), after=after)
    kind, columns = _columns(figure)
    return {"figure": figure, "key": key, "scope": cfg.scope, "as_of": at.isoformat(), "count": total,
            "kind": kind, "columns": [{"key": k, "label": label} for k, label in columns],
            "rows": rows, "exams": rows if kind == "exams" else [], "next": nxt}


def _columns(figure: str) -> tuple[str, list[tuple[str, str]]]:
    if figure in CRITICAL_FIGURES:
        return "critical_values", CRITICAL_COLUMNS
    if figure == "CP-15":
        return "waits", WAIT_COLUMNS
    return "exams", EXAM_COLUMNS


def _local(tx: Tx, at: datetime | None) -> str:
    return "" if at is None else at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M:%S")


def _critical_rows(tx: Tx, rows: list[Any], end: datetime, cfg: Config) -> list[dict[str, Any]]:
    tolerance = timedelta(minutes=int(settings_store.get_in(tx, "critical.backdate_tolerance_min")))
    limit = timedelta(minutes=cfg.limit_min)
    out = []
    for cv, accession, item, patient, _modality in rows:
        notice = notice_time(cv.notified_at, cv.notified_recorded_at, cfg.critical_basis)
        t = critical_tally([(cv.raised_at, notice)], end, limit)
        verdict = "within" if t.within else ("pending" if t.pending else "late")
        seen = notice is not None and notice <= end
        flags = []
        if cv.notified_at and cv.notified_recorded_at and backdated(cv.notified_at, cv.notified_recorded_at,
                                                                     tolerance):
            flags.append(f"补登：{cv.notify_late_reason or '未填写原因'}")
        out.append({
            "critical_id": cv.id, "exam_id": cv.exam_id, "accession": accession, "patient": patient, "item": item,
            "finding": cv.finding, "raised_at": _local(tx, cv.raised_at),
            "notified_at": _local(tx, cv.notified_at if seen else None),
            "recorded_at": _local(tx, cv.notified_recorded_at if seen else None),
            "minutes": round((notice - cv.raised_at).total_seconds() / 60, 1) if seen and notice else None,
            "verdict": VERDICTS[verdict], "within": verdict == "within", "state": verdict,
            "notified_to": cv.notified_to or "", "notified_via": NOTIFY_CHANNELS.get(cv.notified_via or "", ""),
            "notified_by": cv.notified_by or "", "backdated": bool(flags), "flag": "；".join(flags)})
    return out


def _wait_rows(tx: Tx, waits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"exam_id": w["exam_id"], "accession": w["accession"], "patient": w["patient"], "item": w["exam"],
             "modality": MODALITY_LABELS.get(w["modality"], w["modality"]),
             "checked_in_at": _local(tx, datetime.fromisoformat(w["checked_in_at"])),
             "waited_min": w["waited_min"], "state": "候检中" if w["still_waiting"] else "已开始检查"} for w in waits]


def _exam_rows(tx: Tx, marks: list[tuple[int, datetime]]) -> list[dict[str, Any]]:
    if not marks:
        return []
    counted = dict(marks)
    order = {exam_id: i for i, (exam_id, _) in enumerate(marks)}
    rows = tx.session.execute(
        select(Exam, Patient.name, ExamItem.name).join(Patient, Patient.id == Exam.patient_id)
        .join(ExamItem, ExamItem.id == Exam.exam_item_id).where(Exam.id.in_(list(counted))))
    out = [{"exam_id": e.id, "accession": e.accession, "patient": name, "item": item,
            "modality": MODALITY_LABELS.get(e.modality_code, e.modality_code),
            "category": CATEGORY_LABELS.get(e.category, e.category),  # type: ignore[call-overload]
            "patient_class": PATIENT_CLASS_LABELS.get(e.patient_class, e.patient_class),  # type: ignore[call-overload]
            "status": EXAM_STATUS_LABELS[ExamStatus(e.status)], "report_status": e.report_status,
            "counted_at": _local(tx, counted[e.id]),
            "created_at": e.created_at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M")}
           for e, name, item in rows]
    return sorted(out, key=lambda r: order[r["exam_id"]])


def drill_stream(svc: Services, figure: str, fmt: str, *, key: str = "", by: Actor, as_of: datetime | None = None,
                 scope: str = DEFAULT_SCOPE) -> tuple[Iterator[bytes], str]:
    """The whole list behind a figure as CSV (streamed page by page) or XLSX (written row by row to a spool)."""
    by.require(Perm.EXAM_READ)
    at = resolve_as_of(svc, as_of, by)
    if figure not in FIGURES:
        raise _bad(figure, key)
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("导出格式只能是 csv 或 xlsx", code="invalid_format")
    with transaction(svc) as tx:
        cfg = config(tx, scope)
        _page(tx, at, figure, key, cfg, after="", limit=1, with_count=False)  # refuse a bad key before streaming
        audit.record(tx, by, "export", "cockpit_drill", figure, key=key, format=fmt)
    _kind, columns = _columns(figure)
    title = f"{figure} 明细" + (f" {key}" if key else "") + f"（截至 {_local_at(at, svc)}）"

    def pages() -> Iterator[list[list[Any]]]:
        after = ""
        while True:
            with transaction(svc, readonly=True) as tx:
                _t, rows, nxt = _page(tx, at, figure, key, cfg, after=after, limit=EXPORT_PAGE, with_count=False)
            yield [[r.get(k, "") for k, _ in columns] for r in rows]
            if nxt is None:
                return
            after = nxt

    header = [label for _, label in columns]
    safe_key = "".join(c if c.isalnum() or c in "-_" else "_" for c in key)
    name = f"cockpit-{figure}{'-' + safe_key if safe_key else ''}-detail.{fmt}"
    if fmt == "csv":
        return _csv_stream(title, header, pages()), name
    return _xlsx_stream(figure, title, header, pages()), name


def _local_at(at: datetime, svc: Services) -> str:
    return at.astimezone(svc.tz).strftime("%Y-%m-%d %H:%M:%S")


def _csv_stream(title: str, header: list[str], pages: Iterator[list[list[Any]]]) -> Iterator[bytes]:
    def line(values: list[Any]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf).writerow(values)
        return buf.getvalue().encode("utf-8")

    yield "\ufeff".encode() + line([title]) + line(header)
    for rows in pages:
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        yield buf.getvalue().encode("utf-8")


def _xlsx_stream(sheet: str, title: str, header: list[str], pages: Iterator[list[list[Any]]]) -> Iterator[bytes]:
    import tempfile

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([title])
    ws.append(header)
    for rows in pages:
        for row in rows:
            ws.append(row)
    with tempfile.TemporaryFile() as spool:
        wb.save(spool)
        spool.seek(0)
        while chunk := spool.read(64 * 1024):
            yield chunk


def panel_table(figs: dict[str, Any], figure: str) -> tuple[str, list[str], list[list[Any]]]:
    """One panel of computed figures as (title, header, rows) for CSV / Excel export."""
    from backend.services.cockpit.tables import TABLES

    if figure not in TABLES:
        raise InvalidInput(f"未知面板：{figure}", code="unknown_panel")
    title, header, rows = TABLES[figure](figs[figure])
    return f"{figure} {title}", header, rows


def export(svc: Services, figure: str, fmt: str, *, by: Actor, as_of: datetime | None = None,
           scope: str = DEFAULT_SCOPE) -> tuple[bytes, str]:
    """One panel as CSV (UTF-8 with BOM, opens in Excel) or XLSX bytes, with a file name."""
    from backend.services.cockpit.board import figures

    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("导出格式只能是 csv 或 xlsx", code="invalid_format")
    figs = figures(svc, by=by, as_of=as_of, mask=not by.can(Perm.EXAM_READ), scope=scope)
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
