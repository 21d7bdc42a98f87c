"""Lung-nodule categories (LN-9): Lung-RADS v2022 or C-Lung-RADS from the measured nodules; nothing is stored."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import json_body
from backend.domain.permissions import Perm
from backend.services.reporting import lung_rads

bp = Blueprint("lung_rads", __name__)

NoduleKind = Literal["solid", "part_solid", "non_solid", "calcified", "fat", "juxtapleural", "airway"]
SystemName = Literal["lung-rads-v2022", "c-lung-rads"]


class NoduleIn(BaseModel):
    type: NoduleKind = Field(description="实性/部分实性/非实性（磨玻璃）/钙化/含脂肪/胸膜下或叶间裂旁/气道内")
    long_mm: float = Field(description="长径（毫米，0.1）")
    short_mm: float = Field(description="短径（毫米，0.1），不大于长径")
    solid_long_mm: float | None = Field(None, description="实性成分长径（部分实性结节必填）")
    solid_short_mm: float | None = Field(None, description="实性成分短径（部分实性结节必填）")
    change: Literal["new", "growing", "stable", "smaller"] | None = Field(
        None, description="与既往比较：新发 / 增大（12 个月内平均直径增加 >1.5 mm）/ 稳定 / 缩小；基线检查为 null")
    stable_months: int | None = Field(None, description="稳定或缩小已持续的月数（用于分级递减）")
    suspicious_features: bool = Field(False, description="伴可疑恶性征象（毛刺、淋巴结肿大等）→ 4X")
    prior_mean_mm: float | None = Field(None, description="扩展：既往平均直径；给出时由系统判断变化")
    interval_months: int | None = Field(None, description="扩展：与既往检查的间隔（月）")
    airway_level: Literal["subsegmental", "segmental"] | None = Field(
        None, description="扩展：气道结节位置，亚段或段及以上（缺省按段及以上）")


class AssessBody(BaseModel):
    exam: Literal["baseline", "follow_up"] = Field(description="基线筛查 / 随访复查")
    nodules: list[NoduleIn] = Field(default_factory=list, max_length=50)
    significant_other_findings: bool = Field(False, description="具临床意义的非肺癌发现（S 修饰符）")
    prior_available: bool = Field(True, description="随访复查时既往 CT 是否可供对比（否则为 0 类）")
    system: SystemName | None = Field(None, description="分类体系；缺省取设置 lung_rads.system")


class NoduleOut(BaseModel):
    mean_mm: float
    category: str
    solid_mean_mm: float | None
    change: str | None
    reason: str


class AssessAnswer(BaseModel):
    system: SystemName
    system_label: str
    category: str = Field(description="检查总分类（最可疑结节）：0、1、2、3、4A、4B、4X（C-Lung-RADS：0–4）")
    modifiers: list[str] = Field(description="修饰符，如 S")
    nodules: list[NoduleOut]
    recommendation: str = Field(description="中文处理建议")


@bp.post("/api/lung-rads/assess")
@doc("肺结节 Lung-RADS 分类：按结节测量值给出每个结节与整次检查的分类、修饰符和处理建议（不保存）",
     body=AssessBody, response=AssessAnswer, tags=("reports",))
@requires(Perm.REPORT_WRITE)
def assess() -> Any:
    body = json_body(AssessBody)
    return jsonify(lung_rads.assess(
        services(), exam=body.exam, nodules=[n.model_dump(exclude_none=True) for n in body.nodules],
        significant_other_findings=body.significant_other_findings, prior_available=body.prior_available,
        system=body.system, by=actor()))
