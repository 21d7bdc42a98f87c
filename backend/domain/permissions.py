"""Who may do what: one table from role to permissions, checked by every service and page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final

from backend.domain.data_catalog import scope_labels
from backend.domain.data_datasets import DATASETS
from backend.domain.enums import Role
from backend.domain.errors import Forbidden
from backend.domain.exam_flow import Trigger


class Perm(StrEnum):
    EXAM_READ = "exam.read"
    EXAM_REGISTER = "exam.register"
    EXAM_OPERATE = "exam.operate"  # check in, start, finish, call
    REPORT_WRITE = "report.write"
    REPORT_APPROVE = "report.approve"
    REPORT_PRINT = "report.print"
    CRITICAL_MANAGE = "critical.manage"
    TRIAGE = "triage.manage"
    COCKPIT_VIEW = "cockpit.view"
    ADMIN = "admin"
    AUDIT_READ = "audit.read"
    IMAGE_READ = "image.read"  # DICOMweb QIDO/WADO and the web viewer (issue 10)
    IMAGE_WRITE = "image.write"  # DICOMweb STOW-RS
    RECON_LINK = "recon.link"  # reference a prior as the reconstruction source, send, resend (LN-4..LN-7)


_ALL: Final = frozenset(Perm)
R, P = Role, Perm
ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[Perm]]] = {
    R.ADMIN: _ALL,
    R.CLERK: frozenset({P.EXAM_READ, P.EXAM_REGISTER, P.EXAM_OPERATE, P.REPORT_PRINT}),
    R.NURSE: frozenset({P.EXAM_READ, P.EXAM_OPERATE, P.TRIAGE, P.REPORT_PRINT}),
    R.TECHNOLOGIST: frozenset({P.EXAM_READ, P.EXAM_OPERATE, P.IMAGE_READ, P.RECON_LINK}),
    R.TYPIST: frozenset({P.EXAM_READ, P.REPORT_WRITE}),
    R.RADIOLOGIST: frozenset({P.EXAM_READ, P.REPORT_WRITE, P.REPORT_PRINT, P.CRITICAL_MANAGE, P.IMAGE_READ,
                                P.RECON_LINK}),
    R.SENIOR_RADIOLOGIST: frozenset(
        {P.EXAM_READ, P.REPORT_WRITE, P.REPORT_APPROVE, P.REPORT_PRINT, P.CRITICAL_MANAGE, P.IMAGE_READ,
         P.RECON_LINK}
    ),
    R.DEPARTMENT_HEAD: frozenset(
        {P.EXAM_READ, P.COCKPIT_VIEW, P.AUDIT_READ, P.REPORT_PRINT, P.REPORT_APPROVE, P.REPORT_WRITE,
         P.CRITICAL_MANAGE, P.IMAGE_READ}
    ),
}
del R, P

# API-key scopes name permissions directly (e.g. "exam.read", "exam.register"), plus the data API's
# scopes: "data.read:<dataset>" per dataset and "data.pii" for unmasked personal data (LC-1).
DATA_SCOPE_LABELS: Final[Mapping[str, str]] = scope_labels(DATASETS)
SCOPES: Final = frozenset(p.value for p in Perm) | frozenset(DATA_SCOPE_LABELS)
ALL_SCOPES: Final = "all"  # on the command line and in the admin page: every scope


def expand_scopes(names: Iterable[str]) -> list[str]:
    """The scopes a key asks for, with `all` standing for every scope; sorted, without repeats."""
    wanted = {n.strip() for n in names if n.strip()}
    return sorted(SCOPES) if ALL_SCOPES in wanted else sorted(wanted)


def permissions_of(roles: Iterable[str]) -> frozenset[Perm]:
    """Union of the permissions of every role the user holds; unknown role names grant nothing."""
    out: set[Perm] = set()
    for name in roles:
        try:
            out |= ROLE_PERMISSIONS[Role(name)]
        except ValueError:
            continue
    return frozenset(out)


def require(granted: Iterable[str], perm: Perm) -> None:
    """Raise Forbidden unless `perm` is among the granted permission names."""
    if perm.value not in {str(g) for g in granted}:
        raise Forbidden(f"没有权限：需要“{PERM_LABELS[perm]}”权限", code="forbidden", needed=perm.value)


PERM_LABELS: Final[Mapping[Perm, str]] = {
    Perm.EXAM_READ: "查看检查",
    Perm.EXAM_REGISTER: "登记检查",
    Perm.EXAM_OPERATE: "检查操作",
    Perm.REPORT_WRITE: "书写报告",
    Perm.REPORT_APPROVE: "审核报告",
    Perm.REPORT_PRINT: "打印报告",
    Perm.CRITICAL_MANAGE: "危急值管理",
    Perm.TRIAGE: "分诊管理",
    Perm.COCKPIT_VIEW: "查看驾驶舱",
    Perm.ADMIN: "系统管理",
    Perm.AUDIT_READ: "查看审计",
    Perm.IMAGE_READ: "调阅影像",
    Perm.IMAGE_WRITE: "上传影像",
    Perm.RECON_LINK: "引用历史图像（靶重建）",
}
# Every scope an API key may hold, with its Chinese label (the key form lists these).
SCOPE_LABELS: Final[Mapping[str, str]] = {**{p.value: label for p, label in PERM_LABELS.items()},
                                          **DATA_SCOPE_LABELS}


def trigger_permission(trigger: str) -> Perm:
    """The permission an exam trigger needs: the desk registers and cancels, rooms operate."""
    desk = {Trigger.REGISTER, Trigger.CANCEL, Trigger.SCHEDULE}
    return Perm.EXAM_REGISTER if trigger in desk else Perm.EXAM_OPERATE
