"""Exams: register, list and search, read one, edit, cancel, apply a transition, timeline."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDate, json_body, query_args
from backend.domain.enums import PatientClass, Priority, Sex
from backend.domain.exam_flow import Trigger
from backend.domain.exam_query import ExamFilter
from backend.domain.permissions import Perm
from backend.domain.registration import OrderData, PatientData
from backend.services import timeline
from backend.services.imaging import recon
from backend.services.orders import catalog, exam_list, registration

bp = Blueprint("exams", __name__)


class ExamQuery(BaseModel):
    accession: str | None = Field(None, max_length=32)
    mrn: str | None = Field(None, max_length=32)
    name: str | None = Field(None, max_length=64, description="姓名开头")
    q: str | None = Field(None, max_length=64, description="检查号、病案号或姓名开头")
    placer_order: str | None = Field(None, max_length=64, description="申请单号（ORC-2）")
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    status: list[str] = Field(default_factory=list)
    report_status: list[str] = Field(default_factory=list)
    modality: list[str] = Field(default_factory=list)
    item: list[str] = Field(default_factory=list)
    patient_class: list[str] = Field(default_factory=list)
    campus: list[int] = Field(default_factory=list)
    sort: str = "created_desc"
    cursor: str | None = Field(None, max_length=512)
    limit: int = Field(50, ge=1, le=200)


class PatientIn(BaseModel):
    mrn: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    sex: Sex = Sex.UNKNOWN
    birth_date: IsoDate | None = None
    id_card: str | None = Field(None, max_length=18)
    phone: str | None = Field(None, max_length=20)
    insurance_no: str | None = Field(None, max_length=64)
    cadre_health: bool = False
    military: bool = False


class RegisterBody(BaseModel):
    patient: PatientIn
    item_code: str = Field(min_length=1, max_length=32)
    patient_class: PatientClass = PatientClass.OUTPATIENT
    priority: Priority = Priority.ROUTINE
    campus_code: str | None = Field(None, max_length=16)
    slot_id: int | None = None
    ordering_department: str = Field("", max_length=64)
    ordering_doctor: str = Field("", max_length=64)
    clinical_info: str = Field("", max_length=2000)
    source_system: str = Field("ris", max_length=32)
    source_order_no: str | None = Field(None, max_length=64)
    paid: bool = True

    def to_order(self) -> OrderData:
        p = self.patient
        return OrderData(
            patient=PatientData(mrn=p.mrn, name=p.name, sex=p.sex.value, birth_date=p.birth_date, id_card=p.id_card,
                                phone=p.phone, insurance_no=p.insurance_no, cadre_health=p.cadre_health,
                                military=p.military),
            item_code=self.item_code, patient_class=self.patient_class.value, priority=self.priority.value,
            campus_code=self.campus_code, slot_id=self.slot_id, ordering_department=self.ordering_department,
            ordering_doctor=self.ordering_doctor, clinical_info=self.clinical_info,
            source_system=self.source_system, source_order_no=self.source_order_no, paid=self.paid)


class CancelBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class EditBody(BaseModel):
    priority: Priority | None = None
    patient_class: PatientClass | None = None
    ordering_department: str | None = Field(None, max_length=64)
    ordering_doctor: str | None = Field(None, max_length=64)
    clinical_info: str | None = Field(None, max_length=2000)
    paid: bool | None = None
    slot_id: int | None = None
    expected_version: int | None = None


class TransitionBody(BaseModel):
    # Check-in goes through /api/kiosk/checkin or /api/desk/checkin (they queue the patient).
    trigger: Literal["undo_check_in", "start", "complete", "discontinue"]
    note: str = Field("", max_length=500)


class SlotQuery(BaseModel):
    item: str = Field(min_length=1, max_length=32)
    day: IsoDate


@bp.get("/api/exams")
@doc("检查列表：按日期、状态、设备、项目、患者、类别、院区筛选，键集分页", query=ExamQuery, tags=("exams",))
@requires(Perm.EXAM_READ)
def list_exams() -> Any:
    a = query_args(ExamQuery)
    f = ExamFilter(date_from=a.date_from, date_to=a.date_to, statuses=tuple(a.status),
                   report_statuses=tuple(a.report_status), modalities=tuple(a.modality), item_codes=tuple(a.item),
                   patient_classes=tuple(a.patient_class), campus_ids=tuple(a.campus), accession=a.accession,
                   mrn=a.mrn, patient_name=a.name, q=a.q, placer_order=a.placer_order)
    return jsonify(exam_list.search(services(), f, by=actor(), sort=a.sort, cursor=a.cursor, limit=a.limit))


@bp.post("/api/exams")
@doc("登记检查（需要号源的项目必须选择号源，无需号源的项目不可选择）", status=201, body=RegisterBody, tags=("exams",))
@requires(Perm.EXAM_REGISTER)
def register_exam() -> Any:
    body = json_body(RegisterBody)
    return jsonify(registration.register(services(), body.to_order(), by=actor())), 201


@bp.get("/api/exams/<int:exam_id>")
@doc("检查详情", tags=("exams",))
@requires(Perm.EXAM_READ)
def get_exam(exam_id: int) -> Any:
    return jsonify(exam_list.get_exam(services(), by=actor(), exam_id=exam_id))


@bp.patch("/api/exams/<int:exam_id>")
@doc("修改检查（签到前）", body=EditBody, tags=("exams",))
@requires(Perm.EXAM_REGISTER)
def edit_exam(exam_id: int) -> Any:
    body = json_body(EditBody)
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"}, mode="json")
    # null means "no change" except for the slot, where it means "give the slot back".
    changes = {k: v for k, v in changes.items() if v is not None or k == "slot_id"}
    return jsonify(registration.edit(services(), exam_id, changes=changes, by=actor(),
                                     expected_version=body.expected_version))


@bp.post("/api/exams/<int:exam_id>/cancel")
@doc("取消检查（释放号源）", body=CancelBody, tags=("exams",))
@requires(Perm.EXAM_REGISTER)
def cancel_exam(exam_id: int) -> Any:
    body = json_body(CancelBody)
    return jsonify(registration.cancel(services(), exam_id, reason=body.reason, by=actor()))


@bp.post("/api/exams/<int:exam_id>/transition")
@doc("检查状态变更（签到、开始、完成、中断）", body=TransitionBody, tags=("exams",))
@requires(Perm.EXAM_OPERATE)
def transition(exam_id: int) -> Any:
    body = json_body(TransitionBody)
    details = {"note": body.note} if body.note else {}
    return jsonify(timeline.apply(services(), exam_id, Trigger(body.trigger), by=actor(), **details))


@bp.get("/api/exams/<int:exam_id>/timeline")
@doc("检查时间线（全部事件）", tags=("exams",))
@requires(Perm.EXAM_READ)
def exam_timeline(exam_id: int) -> Any:
    exam_list.get_exam(services(), by=actor(), exam_id=exam_id)
    return jsonify({"events": timeline.events_of(services(), exam_id)})


@bp.get("/api/exam-items")
@doc("检查项目列表（code、name、modality、needs_slot）", tags=("catalog",))
@requires(Perm.EXAM_READ)
def exam_items() -> Any:
    return jsonify({"items": catalog.exam_items(services(), by=actor())})


@bp.get("/api/slots")
@doc("某检查项目某日的号源及余量", query=SlotQuery, tags=("catalog",))
@requires(Perm.EXAM_READ)
def slots() -> Any:
    a = query_args(SlotQuery)
    return jsonify({"slots": registration.available_slots(services(), a.item, a.day, by=actor())})


# ---- lung-nodule target reconstruction (LN-4..LN-7) ----

class ReconSourceBody(BaseModel):
    study_uid: str = Field(min_length=1, max_length=64, description="历史检查的 Study Instance UID")
    series_uid: str | None = Field(None, max_length=64, description="序列；不填则取最薄的肺窗序列")


@bp.get("/api/exams/<accession>/priors")
@doc("引用历史图像：患者的历史影像检查（胸部 CT 在前，新的在前；序列数、图像数、缩略图、默认序列；"
     "配置远程影像库时含其检查，source=remote；远程无法连接时 notice 说明原因）", tags=("exams",))
@requires(Perm.RECON_LINK)
def exam_priors(accession: str) -> Any:
    return jsonify(recon.priors(services(), accession, by=actor()))


@bp.post("/api/exams/<accession>/recon-source")
@doc("引用一个历史检查的序列作为靶重建源图像（检查：已登记 -> 检查中）", status=201, body=ReconSourceBody,
     tags=("exams",))
@requires(Perm.RECON_LINK)
def link_recon_source(accession: str) -> Any:
    body = json_body(ReconSourceBody)
    return jsonify(recon.link(services(), accession, study_uid=body.study_uid, series_uid=body.series_uid,
                              by=actor())), 201


@bp.get("/api/exams/<accession>/recon-source")
@doc("靶重建源图像引用及其发送、重建状态（待发送、发送中、已发送、重建完成、失败、重建超时）", tags=("exams",))
@requires(Perm.EXAM_READ)
def get_recon_source(accession: str) -> Any:
    return jsonify({"link": recon.link_of(services(), accession)})


@bp.delete("/api/exams/<accession>/recon-source")
@doc("撤销引用（仅在发送前）", tags=("exams",))
@requires(Perm.RECON_LINK)
def unlink_recon_source(accession: str) -> Any:
    return jsonify(recon.unlink(services(), accession, by=actor()))


@bp.post("/api/exams/<accession>/recon-source/resend")
@doc("重新发送源图像到重建系统（失败或重建超时后）", tags=("exams",))
@requires(Perm.RECON_LINK)
def resend_recon_source(accession: str) -> Any:
    return jsonify(recon.resend(services(), accession, by=actor()))
