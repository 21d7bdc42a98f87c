"""Lung-nodule categories for the API and the report editor: the domain rules under the hospital's system.

The system (Lung-RADS v2022 or C-Lung-RADS) is the caller's when given, else the setting `lung_rads.system`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from backend.domain import lung_nodule_section
from backend.domain import lung_rads as rules
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput
from backend.domain.permissions import Perm
from backend.services import settings_store
from backend.services.base import Services

logger = logging.getLogger(__name__)
SETTING = "lung_rads.system"


def default_system(svc: Services) -> rules.System:
    """The hospital's system; Lung-RADS v2022 when an admin stored something unknown (as the basis settings do)."""
    raw = settings_store.get(svc, SETTING)
    try:
        return rules.System(str(raw))
    except ValueError:
        logger.warning("setting %s has an unknown value %r: using %s", SETTING, raw, rules.System.V2022.value)
        return rules.System.V2022


def assess(svc: Services, *, exam: str, nodules: Sequence[Mapping[str, Any]], significant_other_findings: bool,
           prior_available: bool, system: str | None, by: Actor) -> dict[str, Any]:
    """Category per nodule and for the exam, modifiers and the Chinese recommendation (nothing is stored)."""
    by.require(Perm.REPORT_WRITE)
    chosen = rules.parse_system(system) if system else default_system(svc)
    try:
        kind = rules.ExamKind(exam)
    except ValueError:
        raise InvalidInput(f"检查类型无效：{exam}（可选 baseline、follow_up）", code="invalid_exam_kind") from None
    if len(nodules) > rules.MAX_NODULES:
        raise InvalidInput(f"结节数量不能超过 {rules.MAX_NODULES} 个", code="too_many_nodules")
    parsed = [rules.nodule_from_dict(n, f"结节{i}") for i, n in enumerate(nodules, 1)]
    return rules.assess(exam=kind, nodules=parsed, significant_other_findings=significant_other_findings,
                        prior_available=prior_available, system=chosen).as_dict()


def preview_section(svc: Services, value: Mapping[str, Any], *, by: Actor) -> dict[str, Any] | None:
    """A lung-nodule report section checked and with its suggestion, as saving it would store it (no write)."""
    by.require(Perm.REPORT_WRITE)
    return lung_nodule_section.clean({"key": lung_nodule_section.KIND, "title": "肺结节"}, value)
