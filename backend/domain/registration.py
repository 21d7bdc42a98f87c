"""Registration rules: what an order must carry and when it needs an appointment slot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from backend.domain.enums import PatientClass, Priority, Sex
from backend.domain.errors import InvalidInput
from backend.domain.text_input import NAME_MAX, check_name, check_text

ID_CARD = re.compile(r"^\d{17}[\dXx]$")
PHONE = re.compile(r"^[\d+\-() ]{5,20}$")
MRN = re.compile(r"^[A-Za-z0-9\-]{1,32}$")


@dataclass(frozen=True, slots=True)
class PatientData:
    mrn: str
    name: str
    sex: str = Sex.UNKNOWN.value
    birth_date: date | None = None
    id_card: str | None = None
    phone: str | None = None
    insurance_no: str | None = None
    cadre_health: bool = False
    military: bool = False  # 军人: served first when us.priority_military is on (issue 15 item 7)


@dataclass(frozen=True, slots=True)
class OrderData:
    """An order to register, from the desk, an API or an HL7 message."""

    patient: PatientData
    item_code: str
    patient_class: str = PatientClass.OUTPATIENT.value
    priority: str = Priority.ROUTINE.value
    campus_code: str | None = None
    slot_id: int | None = None
    ordering_department: str = ""
    ordering_doctor: str = ""
    clinical_info: str = ""
    source_system: str = "ris"
    source_order_no: str | None = None
    paid: bool = True


def validate_patient(p: PatientData) -> None:
    """Refuse a patient record that staff could not use (no MRN, no name, malformed numbers)."""
    if not MRN.match(p.mrn or ""):
        raise InvalidInput("病案号必填，仅限字母、数字和连字符，最长 32 位", code="invalid_mrn")
    if not p.name.strip() or len(p.name) > NAME_MAX:
        raise InvalidInput(f"患者姓名必填，最长 {NAME_MAX} 个字符", code="invalid_name")
    check_name(p.name, field="患者姓名")
    if p.sex not in {s.value for s in Sex}:
        raise InvalidInput("性别无效（M/F/O/U）", code="invalid_sex")
    if p.id_card and not ID_CARD.match(p.id_card):
        raise InvalidInput("身份证号格式错误（18 位）", code="invalid_id_card")
    if p.phone and not PHONE.match(p.phone):
        raise InvalidInput("电话号码格式错误", code="invalid_phone")


def validate_order(o: OrderData) -> None:
    validate_patient(o.patient)
    check_text(o.ordering_department, field="开单科室", max_len=64, multiline=False)
    check_text(o.ordering_doctor, field="开单医生", max_len=64, multiline=False)
    validate_order_fields(patient_class=o.patient_class, priority=o.priority, clinical_info=o.clinical_info)


def validate_order_fields(*, patient_class: str, priority: str, clinical_info: str) -> None:
    """The order fields the desk may also change later (class, priority, clinical information)."""
    if patient_class not in {c.value for c in PatientClass}:
        raise InvalidInput(f"患者类别无效：{patient_class}", code="invalid_patient_class")
    if priority not in {p.value for p in Priority}:
        raise InvalidInput(f"优先级无效：{priority}", code="invalid_priority")
    if len(clinical_info) > 2000:
        raise InvalidInput("临床信息最长 2000 个字符", code="field_too_long")
    check_text(clinical_info, field="临床信息", max_len=2000)


def slot_required(*, needs_slot: bool, patient_class: str) -> bool:
    """Items that need a slot need one, except for emergency patients, who are seen at once, and
    health-check (体检) clients, whose day is booked by the health-check center: their orders arrive
    by HL7/API with no clerk to pick a slot (PE-2) and they are queued on arrival like walk-ins."""
    return needs_slot and patient_class not in (PatientClass.EMERGENCY.value, PatientClass.HEALTH_CHECK.value)


def check_slot_choice(*, needs_slot: bool, patient_class: str, slot_id: int | None) -> None:
    """LN-2: an item that needs no slot never takes one; one that needs it must have one."""
    if not needs_slot and slot_id is not None:
        raise InvalidInput("该检查项目无需预约号源", code="slot_not_needed")
    if slot_required(needs_slot=needs_slot, patient_class=patient_class) and slot_id is None:
        raise InvalidInput("该检查项目需要选择预约号源", code="slot_required")
