"""Reports and critical values: draft, submit, approve, return, amend, versions, PDF; 危急值 flow."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify
from pydantic import AwareDatetime, BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDateTime, json_body
from backend.domain.permissions import Perm
from backend.services.reporting import critical_values, queries
from backend.services.reporting import pdf as report_pdf
from backend.services.reporting import reports as reporting

bp = Blueprint("reports", __name__)


class DraftBody(BaseModel):
    sections: dict[str, Any] = Field(default_factory=dict, description="段落键 -> 内容（自由文本段落为字符串）")
    lock: int | None = Field(None, description="读取报告时的 lock；首次保存可省略")
    author_id: int | None = Field(None, description="打字员代录时的报告医师用户 ID")


class LockBody(BaseModel):
    lock: int | None = None


class ReasonBody(BaseModel):
    reason: str = Field("", max_length=2000)
    lock: int | None = None


class AmendBody(ReasonBody):
    author_id: int | None = None


class RaiseBody(BaseModel):
    finding: str = Field("", max_length=2000)
    urgency: Literal["high", "urgent"] = "high"


class NotifyBody(BaseModel):
    to: str = Field("", max_length=64, description="接收人（临床医师/护士）")
    via: str = Field("phone", max_length=16, description="phone / system / in_person / sms")
    read_back: bool = False
    notified_at: AwareDatetime | None = Field(None, description="通知时间（缺省为当前时间）")
    reason: str = Field("", max_length=500, description="补登原因（通知时间早于登记时间超过设定分钟数时必填）")


class AckBody(BaseModel):
    note: str = Field("", max_length=500)


@bp.get("/api/exams/<int:exam_id>/report")
@doc("检查的报告：当前内容、模板段落、版本历史、当前用户可执行的操作", tags=("reports",))
@requires(Perm.EXAM_READ)
def get_report(exam_id: int) -> Any:
    return jsonify(reporting.get(services(), exam_id, by=actor()))


@bp.put("/api/exams/<int:exam_id>/report")
@doc("保存报告草稿（首次保存按检查项目的模板创建报告；须带 lock 防止覆盖他人修改）", body=DraftBody,
     tags=("reports",))
@requires(Perm.REPORT_WRITE)
def save_draft(exam_id: int) -> Any:
    body = json_body(DraftBody)
    return jsonify(reporting.save_draft(services(), exam_id, sections=body.sections, by=actor(),
                                        expected_lock=body.lock, author_id=body.author_id))


@bp.post("/api/exams/<int:exam_id>/report/submit")
@doc("提交报告审核（报告医师本人）", body=LockBody, tags=("reports",))
@requires(Perm.REPORT_WRITE)
def submit(exam_id: int) -> Any:
    body = json_body(LockBody)
    return jsonify(reporting.submit(services(), exam_id, by=actor(), expected_lock=body.lock))


@bp.post("/api/exams/<int:exam_id>/report/approve")
@doc("审核通过报告（不能审核本人书写的报告；有未通知的危急值时拒绝）", body=LockBody, tags=("reports",))
@requires(Perm.REPORT_APPROVE)
def approve(exam_id: int) -> Any:
    body = json_body(LockBody)
    return jsonify(reporting.approve(services(), exam_id, by=actor(), expected_lock=body.lock))


@bp.post("/api/exams/<int:exam_id>/report/return")
@doc("退回报告（必须填写退回原因）", body=ReasonBody, tags=("reports",))
@requires(Perm.REPORT_APPROVE)
def return_report(exam_id: int) -> Any:
    body = json_body(ReasonBody)
    return jsonify(reporting.return_report(services(), exam_id, reason=body.reason, by=actor(),
                                           expected_lock=body.lock))


@bp.post("/api/exams/<int:exam_id>/report/amend")
@doc("修改已审核报告：生成新版本，原审核版本保持不变（必须填写修改原因）", body=AmendBody, tags=("reports",))
@requires(Perm.REPORT_WRITE)
def amend(exam_id: int) -> Any:
    body = json_body(AmendBody)
    return jsonify(reporting.amend(services(), exam_id, reason=body.reason, by=actor(), expected_lock=body.lock,
                                   author_id=body.author_id))


@bp.get("/api/exams/<int:exam_id>/report/versions")
@doc("报告版本历史（每个版本的内容、报告医师、审核医师与时间）", tags=("reports",))
@requires(Perm.EXAM_READ)
def versions(exam_id: int) -> Any:
    view = reporting.get(services(), exam_id, by=actor())
    return jsonify({"exam_id": exam_id, "status": view["status"], "versions": view["versions"]})


@bp.get("/api/exams/<int:exam_id>/report.pdf")
@doc("打印报告（PDF，仅已审核报告）", tags=("reports",))
@requires(Perm.REPORT_PRINT)
def report_pdf_file(exam_id: int) -> Any:
    pdf = report_pdf.print_report(services(), exam_id, by=actor())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="report-{exam_id}.pdf"',
                             "Cache-Control": "no-store"})


@bp.get("/api/reports/worklist")
@doc("待书写报告：检查中或已完成且报告未提交/未审核的检查", tags=("reports",))
@requires(Perm.REPORT_WRITE)
def worklist() -> Any:
    return jsonify({"items": queries.to_write(services(), by=actor())})


@bp.get("/api/reports/review")
@doc("待审核报告：已提交的报告，提交最早的在前", tags=("reports",))
@requires(Perm.REPORT_APPROVE)
def review_queue() -> Any:
    return jsonify({"items": queries.to_review(services(), by=actor())})


@bp.post("/api/exams/<int:exam_id>/critical-values")
@doc("上报危急值（检查开始后，由报告医师上报）", status=201, body=RaiseBody, tags=("critical",))
@requires(Perm.CRITICAL_MANAGE)
def raise_critical(exam_id: int) -> Any:
    body = json_body(RaiseBody)
    return jsonify(critical_values.raise_value(services(), exam_id, finding=body.finding, urgency=body.urgency,
                                               by=actor())), 201


@bp.post("/api/critical-values/<int:critical_id>/notify")
@doc("登记危急值通知：接收人、方式、时间、是否复述确认（只能登记一次）", body=NotifyBody, tags=("critical",))
@requires(Perm.CRITICAL_MANAGE)
def notify_critical(critical_id: int) -> Any:
    body = json_body(NotifyBody)
    at: IsoDateTime | None = body.notified_at
    return jsonify(critical_values.notify(services(), critical_id, to=body.to, via=body.via,
                                          read_back=body.read_back, by=actor(), at=at,
                                          reason=body.reason))


@bp.post("/api/critical-values/<int:critical_id>/acknowledge")
@doc("确认危急值已由临床接收处理（须先登记通知）", body=AckBody, tags=("critical",))
@requires(Perm.CRITICAL_MANAGE)
def acknowledge_critical(critical_id: int) -> Any:
    body = json_body(AckBody)
    return jsonify(critical_values.acknowledge(services(), critical_id, by=actor(), note=body.note))


@bp.get("/api/critical-values/open")
@doc("未闭环的危急值（待通知、已通知未确认），含上报至今分钟数与是否在时限内", tags=("critical",))
@requires(Perm.CRITICAL_MANAGE)
def open_critical() -> Any:
    return jsonify({"items": critical_values.open_values(services(), by=actor())})
