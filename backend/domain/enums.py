"""Value vocabularies shared by every module, with their Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class PatientClass(StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    EMERGENCY = "emergency"
    HEALTH_CHECK = "health_check"


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"


class Category(StrEnum):
    ROUTINE = "routine"
    SUBSPECIALTY = "subspecialty"
    GCP = "gcp"


class Role(StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"
    NURSE = "nurse"
    TECHNOLOGIST = "technologist"
    RADIOLOGIST = "radiologist"
    SENIOR_RADIOLOGIST = "senior_radiologist"
    TYPIST = "typist"
    DEPARTMENT_HEAD = "department_head"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"
    OTHER = "O"
    UNKNOWN = "U"


PATIENT_CLASS_LABELS = {
    PatientClass.OUTPATIENT: "门诊",
    PatientClass.INPATIENT: "住院",
    PatientClass.EMERGENCY: "急诊",
    PatientClass.HEALTH_CHECK: "体检",
}
PRIORITY_LABELS = {Priority.ROUTINE: "普通", Priority.URGENT: "加急", Priority.STAT: "危急"}
CATEGORY_LABELS = {Category.ROUTINE: "常规", Category.SUBSPECIALTY: "亚专科", Category.GCP: "GCP"}
ROLE_LABELS = {
    Role.ADMIN: "系统管理员",
    Role.CLERK: "登记员",
    Role.NURSE: "护士",
    Role.TECHNOLOGIST: "技师",
    Role.RADIOLOGIST: "报告医师",
    Role.SENIOR_RADIOLOGIST: "审核医师",
    Role.TYPIST: "打字员",
    Role.DEPARTMENT_HEAD: "科主任",
}
SEX_LABELS = {Sex.MALE: "男", Sex.FEMALE: "女", Sex.OTHER: "其他", Sex.UNKNOWN: "未知"}


def sex_label(code: str | None) -> str:
    """The Chinese label of a stored sex code; empty for a missing or unknown code."""
    return SEX_LABELS[Sex(code)] if code in SEX_LABELS else ""

# DR is a business name, not a DICOM modality: digital radiography arrives as DX.
MODALITY_LABELS = {
    "CT": "CT",
    "MR": "MR",
    "DX": "DR",
    "MG": "钼靶",
    "RF": "胃肠造影",
    "US": "超声",
}
