"""Health-check order intake over JSON (PE-1, PE-2): the same service as the HL7 listener."""

from __future__ import annotations

import json
from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDate, json_body, query_args
from backend.domain.enums import PatientClass, Priority, Sex
from backend.domain.order_intake import SOURCE_SYSTEM, IntakeAction, IntakeCommand, fingerprint
from backend.domain.permissions import Perm
from backend.domain.registration import OrderData, PatientData
from backend.services.orders import intake as order_intake

bp = Blueprint("orders", __name__)


class OrderPatient(BaseModel):
    mrn: str = Field(min_length=1, max_length=32, description="病案号或体检号")
    name: str = Field(min_length=1, max_length=64)
    sex: Sex = Sex.UNKNOWN
    birth_date: IsoDate | None = None
    id_card: str | None = Field(None, max_length=18)
    phone: str | None = Field(None, max_length=20)


class OrderBody(BaseModel):
    control_id: str = Field(min_length=1, max_length=64, description="幂等键：同一键再次提交只返回原结果")
    action: Literal["new", "cancel", "change"] = "new"
    placer_order_no: str = Field(min_length=1, max_length=64, description="体检系统申请单号（同 ORC-2）")
    patient: OrderPatient | None = None
    item_code: str | None = Field(None, min_length=1, max_length=32, description="检查项目代码（GET /api/exam-items）")
    priority: Priority = Priority.ROUTINE
    requested_at: AwareDatetime | None = Field(None, description="体检中心计划的检查时间（含时区）")
    ordering_department: str = Field("体检中心", max_length=64)
    ordering_doctor: str = Field("", max_length=64)
    clinical_info: str = Field("", max_length=2000)
    reason: str = Field("", max_length=500, description="撤销原因（action=cancel）")

    @model_validator(mode="after")
    def _order_needs_patient_and_item(self) -> OrderBody:
        if self.action != "cancel" and (self.patient is None or self.item_code is None):
            raise ValueError("新开或修改申请单必须包含 patient 与 item_code")
        return self

    def to_command(self, sender: str) -> IntakeCommand:
        order = None
        if self.patient is not None and self.item_code is not None:
            p = self.patient
            order = OrderData(
                patient=PatientData(mrn=p.mrn, name=p.name, sex=p.sex.value,
                                    birth_date=p.birth_date, id_card=p.id_card,
                                    phone=p.phone),
                item_code=self.item_code, patient_class=PatientClass.HEALTH_CHECK.value, priority=self.priority.value,
                ordering_department=self.ordering_department, ordering_doctor=self.ordering_doctor,
                clinical_info=self.clinical_info, source_system=SOURCE_SYSTEM, source_order_no=self.placer_order_no)
        content = json.dumps(self.model_dump(mode="json", exclude={"control_id"}), sort_keys=True, ensure_ascii=False)
        return IntakeCommand(action=IntakeAction(self.action), control_id=self.control_id, sender=sender,
                             channel="json", message_type="json", placer_order_no=self.placer_order_no, order=order,
                             reason=self.reason, requested_at=self.requested_at, fingerprint=fingerprint([content]))


class MessagesQuery(BaseModel):
    placer_order: str | None = Field(None, max_length=64)
    limit: int = Field(50, ge=1, le=200)


@bp.post("/api/orders")
@doc("体检申请单接收（新开 new / 撤销 cancel / 修改 change）：201 已处理，200 重复提交（返回原结果）",
     body=OrderBody, tags=("orders",))
@requires(Perm.EXAM_REGISTER)
def receive_order() -> Any:
    body = json_body(OrderBody)
    by = actor()
    outcome, repeat = order_intake.receive_order(services(), body.to_command(f"api:{by.label}"), by=by)
    return jsonify(outcome.to_dict()), 200 if repeat else 201


@bp.get("/api/orders/messages")
@doc("已接收的体检申请单消息（HL7 与 JSON），最新在前", query=MessagesQuery, tags=("orders",))
@requires(Perm.EXAM_READ)
def intake_messages() -> Any:
    a = query_args(MessagesQuery)
    return jsonify({"messages": order_intake.intake_log(services(), by=actor(), placer_order_no=a.placer_order,
                                                        limit=a.limit)})
