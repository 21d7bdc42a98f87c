"""Cockpit figures, drill-down and export (CP-*); emergency-report reminders (ER-*)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify, stream_with_context
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDateTime, json_body, query_args
from backend.domain.permissions import Perm
from backend.services.cockpit import board
from backend.services.cockpit import drill as cockpit_drill
from backend.services.cockpit import monthly as cockpit_monthly
from backend.services.reporting import er_reminders

bp = Blueprint("cockpit", __name__)

MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


SCOPE = Field("radiology", max_length=32, description="驾驶舱范围（设置 cockpit.scopes；默认 radiology 放射科）")


class CockpitQuery(BaseModel):
    as_of: IsoDateTime | None = Field(None, description="计算时刻（仅管理员；ISO 8601，须带时区）")
    mask: bool = Field(False, description="隐藏患者姓名（大屏）")
    scope: str = SCOPE


class DrillQuery(BaseModel):
    figure: str = Field(min_length=4, max_length=8, description="CP-1 … CP-15")
    key: str = Field("", max_length=32, description="柱或扇区：类别、设备、月份（2026-06）、“种类:日期”，"
                                                    "CP-8…10 可为 last_year")
    as_of: IsoDateTime | None = None
    scope: str = SCOPE
    after: str = Field("", max_length=64, description="上一页返回的 next（键集翻页）")
    limit: int = Field(100, ge=1, le=500, description="每页条数")


class DrillExportQuery(BaseModel):
    figure: str = Field(min_length=4, max_length=8, description="CP-1 … CP-15")
    key: str = Field("", max_length=32)
    format: Literal["csv", "xlsx"] = "csv"
    as_of: IsoDateTime | None = None
    scope: str = SCOPE


class MonthlyQuery(BaseModel):
    month: str = Field(min_length=7, max_length=7, description="月份，如 2026-11")
    scope: str = SCOPE


class ExportQuery(BaseModel):
    panel: str = Field(min_length=4, max_length=8, description="CP-1 … CP-15")
    format: Literal["csv", "xlsx"] = "csv"
    as_of: IsoDateTime | None = None
    scope: str = SCOPE


class ActBody(BaseModel):
    reason: str = Field("", max_length=500)
    minutes: int = Field(5, ge=1, le=120, description="稍后提醒的分钟数")


@bp.get("/api/cockpit")
@doc("驾驶舱全部指标（CP-1…CP-15）；as_of 仅管理员可用", query=CockpitQuery, tags=("cockpit",))
@requires(Perm.COCKPIT_VIEW)
def get_cockpit() -> Any:
    a = query_args(CockpitQuery)
    return jsonify(board.figures(services(), by=actor(), as_of=a.as_of, mask=a.mask, scope=a.scope))


@bp.get("/api/cockpit/drill")
@doc("指标下钻：构成某个指标（或其中一柱、一扇区）的检查或危急值；count 为真实总数，next 用于键集翻页",
     query=DrillQuery, tags=("cockpit",))
@requires(Perm.COCKPIT_VIEW, Perm.EXAM_READ)
def drill() -> Any:
    a = query_args(DrillQuery)
    return jsonify(cockpit_drill.drill(services(), a.figure, key=a.key, by=actor(), as_of=a.as_of, scope=a.scope,
                                       after=a.after, limit=a.limit))


@bp.get("/api/cockpit/drill/export")
@doc("导出下钻的完整清单（CSV 流式输出或 Excel）", query=DrillExportQuery, tags=("cockpit",))
@requires(Perm.COCKPIT_VIEW, Perm.EXAM_READ)
def drill_export() -> Any:
    a = query_args(DrillExportQuery)
    chunks, name = cockpit_drill.drill_stream(services(), a.figure, a.format, key=a.key, by=actor(), as_of=a.as_of,
                                              scope=a.scope)
    return Response(stream_with_context(chunks), mimetype=MIME[a.format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/cockpit/export")
@doc("导出一个面板（CSV 或 Excel）", query=ExportQuery, tags=("cockpit",))
@requires(Perm.COCKPIT_VIEW)
def export() -> Any:
    a = query_args(ExportQuery)
    data, name = cockpit_drill.export(services(), a.panel, a.format, by=actor(), as_of=a.as_of, scope=a.scope)
    return Response(data, mimetype=MIME[a.format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/cockpit/monthly.pdf")
@doc("运营月报（PDF，嵌入中文字体）：一个月的指标与图表", query=MonthlyQuery, tags=("cockpit",))
@requires(Perm.COCKPIT_VIEW)
def monthly_pdf() -> Any:
    a = query_args(MonthlyQuery)
    data, name = cockpit_monthly.monthly_report(services(), a.month, by=actor(), scope=a.scope)
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/reminders")
@doc("当前医师待处理的急诊报告超时提醒", tags=("reminders",))
@requires(Perm.REPORT_WRITE)
def list_reminders() -> Any:
    return jsonify({"reminders": er_reminders.pending(services(), by=actor())})


@bp.post("/api/reminders/<int:reminder_id>/<any(ack, snooze, open):action>")
@doc("处理提醒：ack 已知晓、snooze 稍后提醒（需原因）、open 打开报告", body=ActBody, tags=("reminders",))
@requires(Perm.REPORT_WRITE)
def act(reminder_id: int, action: str) -> Any:
    body = json_body(ActBody)
    return jsonify(er_reminders.act(services(), reminder_id, action, by=actor(), reason=body.reason,
                                    snooze_min=body.minutes))
