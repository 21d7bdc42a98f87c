"""Lung-nodule categories: Lung-RADS v2022 (ACR, the default) and C-Lung-RADS (2024), one table each.

`assess(...)` takes plain values (the exam kind and the measured nodules) and answers the category of
each nodule, the exam category (the most suspicious nodule), modifiers and the management recommendation
in Chinese. The API (`POST /api/lung-rads/assess`) and the report editor's structured section both call it.

Measurements follow Lung-RADS: each axis to 0.1 mm, mean diameter = (long + short) / 2 rounded half up to
0.1 mm, and the size thresholds are applied to that rounded mean. Growth is an increase of the mean diameter
of more than 1.5 mm within 12 months: given `prior_mean_mm` and `interval_months` the change is computed,
otherwise the reader says it (`change`).

Choices where the published tables leave room (reference/standards.md 4.1), kept here so they are visible:
- A follow-up exam whose prior CT is not available is category 0 (comparison pending).
- A stable or smaller nodule steps down as v2022's stepped management says: a 3 stable for 6 months
  becomes 2; a 4A stable for 3 months becomes 3 and for 9 months (3 + 6) becomes 2. 4B never steps down.
- Growth over more than 12 months (slow growth) does not count as growing and never steps a nodule down.
- A solid nodule that crossed a size threshold since the prior measurement is classed by its size now, even
  without growth, and does not step down.
- Suspicious features turn a 3, 4A or 4B into 4X (v2022); in C-Lung-RADS they stand for the paper's
  "model-predicted malignant probability >= 0.5" and turn a 2 or 3 into 4.
- C-Lung-RADS has no juxtapleural or airway rule: those nodules are sized as solid nodules. It has no
  follow-up table and no S modifier: other significant findings are named in the recommendation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Final

from backend.domain.errors import InvalidInput


class System(StrEnum):
    V2022 = "lung-rads-v2022"
    CHINA = "c-lung-rads"


class ExamKind(StrEnum):
    BASELINE = "baseline"
    FOLLOW_UP = "follow_up"


class NoduleType(StrEnum):
    SOLID = "solid"
    PART_SOLID = "part_solid"
    NON_SOLID = "non_solid"
    CALCIFIED = "calcified"
    FAT = "fat"
    JUXTAPLEURAL = "juxtapleural"
    AIRWAY = "airway"


class Change(StrEnum):
    NEW = "new"
    GROWING = "growing"
    STABLE = "stable"
    SMALLER = "smaller"


class AirwayLevel(StrEnum):
    SUBSEGMENTAL = "subsegmental"
    SEGMENTAL = "segmental"  # segmental or more proximal


SYSTEM_LABELS: Final[Mapping[System, str]] = {System.V2022: "Lung-RADS v2022 (ACR)",
                                              System.CHINA: "C-Lung-RADS (2024)"}
TYPE_LABELS: Final[Mapping[NoduleType, str]] = {
    NoduleType.SOLID: "实性", NoduleType.PART_SOLID: "部分实性", NoduleType.NON_SOLID: "非实性（磨玻璃）",
    NoduleType.CALCIFIED: "钙化", NoduleType.FAT: "含脂肪", NoduleType.JUXTAPLEURAL: "胸膜下/叶间裂旁",
    NoduleType.AIRWAY: "气道内",
}
CHANGE_LABELS: Final[Mapping[Change, str]] = {Change.NEW: "新发", Change.GROWING: "增大", Change.STABLE: "稳定",
                                              Change.SMALLER: "缩小"}
MAX_MM: Final = 300.0
MAX_NODULES: Final = 50
MAX_MONTHS: Final = 600
GROWTH_MM: Final = Decimal("1.5")
GROWTH_WITHIN_MONTHS: Final = 12

# Categories of each system, least to most suspicious.
ORDER: Final[Mapping[System, tuple[str, ...]]] = {
    System.V2022: ("0", "1", "2", "3", "4A", "4B", "4X"),
    System.CHINA: ("0", "1", "2", "3", "4"),
}

Ladder = tuple[tuple[float, str], ...]  # (upper bound, exclusive; category): the first bound above the size wins
INF: Final = math.inf

# Lung-RADS v2022 (ACR), by nodule type and situation; sizes are mean diameters in mm.
V2022: Final[Mapping[str, Ladder]] = {
    "solid": ((6, "2"), (8, "3"), (15, "4A"), (INF, "4B")),
    "solid_new": ((4, "2"), (6, "3"), (8, "4A"), (INF, "4B")),
    "solid_growing": ((8, "4A"), (INF, "4B")),
    "juxtapleural": ((10, "2"),),  # smooth, oval/lentiform/triangular; >= 10 mm is sized as solid
    "part_solid_total": ((6, "2"), (INF, "3")),  # total < 6 mm: 2; else by the solid component below
    "part_solid_total_new": ((6, "3"),),  # a new part-solid nodule < 6 mm total
    "part_solid_component": ((6, "3"), (8, "4A"), (INF, "4B")),
    "part_solid_component_new_or_growing": ((4, "4A"), (INF, "4B")),
    "non_solid": ((30, "2"), (INF, "3")),  # at baseline or new
    "non_solid_stable_or_growing": ((INF, "2"),),  # >= 30 mm unchanged or slowly growing stays 2
}

# C-Lung-RADS (Nat Med 2024, Table 1).
CHINA: Final[Mapping[str, Ladder]] = {
    "solid": ((6, "1"), (10, "2"), (18, "3"), (INF, "4")),
    "part_solid_total": ((6, "1"), (INF, "2")),
    "part_solid_component": ((6, "2"), (10, "3"), (INF, "4")),
    "non_solid": ((6, "1"), (20, "2"), (INF, "3")),
}

RECOMMENDATIONS: Final[Mapping[System, Mapping[str, str]]] = {
    System.V2022: {
        "0": "需调阅既往胸部CT对比，或补充低剂量CT检查；疑似感染或炎症者1–3个月后复查低剂量CT。",
        "1": "继续年度筛查：12个月后复查低剂量CT。",
        "2": "继续年度筛查：12个月后复查低剂量CT。",
        "3": "6个月后复查低剂量CT。",
        "4A": "3个月后复查低剂量CT；实性结节或实性成分≥8 mm者可行PET/CT。",
        "4B": "行诊断性胸部CT（平扫或增强）；实性结节或实性成分≥8 mm者可行PET/CT；"
              "根据恶性概率及合并症考虑组织活检和/或转诊。",
        "4X": "行诊断性胸部CT（平扫或增强）；实性结节或实性成分≥8 mm者可行PET/CT；"
              "根据恶性概率及合并症考虑组织活检和/或转诊。",
    },
    System.CHINA: {
        "0": "继续年度筛查：12个月后复查低剂量CT。",
        "1": "继续年度筛查：12个月后复查低剂量CT。",
        "2": "6个月后复查CT。",
        "3": "3个月后复查CT；可考虑高分辨率CT或PET/CT。",
        "4": "立即临床综合评估：诊断性胸部CT（平扫或增强）、PET/CT（实性结节或实性成分≥8 mm）、"
             "组织活检和/或转诊。",
    },
}
S_ADVICE: Final = "另有具临床意义的非肺癌发现（S），请按相应临床建议处理。"


@dataclass(frozen=True, slots=True)
class Nodule:
    """One measured nodule, as the reader enters it (mm; months)."""

    type: NoduleType
    long_mm: float
    short_mm: float
    solid_long_mm: float | None = None
    solid_short_mm: float | None = None
    change: Change | None = None
    stable_months: int | None = None
    suspicious_features: bool = False
    prior_mean_mm: float | None = None
    interval_months: int | None = None
    airway_level: AirwayLevel = AirwayLevel.SEGMENTAL


@dataclass(frozen=True, slots=True)
class NoduleResult:
    mean_mm: float
    category: str
    solid_mean_mm: float | None = None
    change: Change | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"mean_mm": self.mean_mm, "category": self.category, "solid_mean_mm": self.solid_mean_mm,
                "change": self.change.value if self.change else None, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Assessment:
    system: System
    category: str
    modifiers: tuple[str, ...]
    nodules: tuple[NoduleResult, ...]
    recommendation: str
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system.value, "system_label": SYSTEM_LABELS[self.system], "category": self.category,
                "modifiers": list(self.modifiers), "nodules": [n.as_dict() for n in self.nodules],
                "recommendation": self.recommendation}

    @property
    def label(self) -> str:
        return self.category + "".join(self.modifiers)


def mean_diameter(long_mm: float, short_mm: float) -> float:
    """(long + short) / 2, each axis and the mean to 0.1 mm, rounded half up as Lung-RADS reports it."""
    total = _tenth(long_mm) + _tenth(short_mm)
    return float((total / 2).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _tenth(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _ladder(ladder: Ladder, size: float) -> str:
    for bound, category in ladder:
        if size < bound:
            return category
    raise AssertionError("a ladder ends with an unbounded step or is guarded by its caller")


def rank(system: System, category: str) -> int:
    return ORDER[system].index(category)


def _highest(system: System, *categories: str) -> str:
    return max(categories, key=lambda c: rank(system, c))


# ---- input checks -------------------------------------------------------------------------------------------


def _check_mm(value: float | None, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{what}必须是数字（毫米）", code="invalid_measurement")
    if value < 0:
        raise InvalidInput(f"{what}不能为负数", code="negative_measurement")
    if value == 0:
        raise InvalidInput(f"{what}必须大于 0", code="invalid_measurement")
    if value > MAX_MM:
        raise InvalidInput(f"{what}为 {value:g} mm，超过 {MAX_MM:g} mm，数值不合理", code="absurd_measurement")


def _check_months(value: int | None, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MONTHS:
        raise InvalidInput(f"{what}须为 0–{MAX_MONTHS} 之间的整数（月）", code="invalid_months")


def check_nodule(n: Nodule, label: str) -> None:
    """Refuse impossible measurements with a Chinese reason naming the nodule (`label`, e.g. "结节1")."""
    _check_mm(n.long_mm, f"{label}的长径")
    _check_mm(n.short_mm, f"{label}的短径")
    if n.short_mm > n.long_mm:
        raise InvalidInput(f"{label}的短径（{n.short_mm:g} mm）不能大于长径（{n.long_mm:g} mm）",
                           code="short_exceeds_long")
    if n.type is NoduleType.PART_SOLID:
        if n.solid_long_mm is None or n.solid_short_mm is None:
            raise InvalidInput(f"{label}为部分实性结节，须填写实性成分的长径和短径", code="missing_solid_component")
        _check_mm(n.solid_long_mm, f"{label}实性成分的长径")
        _check_mm(n.solid_short_mm, f"{label}实性成分的短径")
        if n.solid_short_mm > n.solid_long_mm:
            raise InvalidInput(f"{label}实性成分的短径不能大于其长径", code="short_exceeds_long")
        if n.solid_long_mm > n.long_mm or n.solid_short_mm > n.short_mm:
            raise InvalidInput(f"{label}的实性成分不能大于结节本身", code="solid_exceeds_nodule")
    _check_mm(n.prior_mean_mm, f"{label}的既往平均直径")
    _check_months(n.stable_months, f"{label}的稳定时间")
    _check_months(n.interval_months, f"{label}与既往检查的间隔")


# ---- the rules ----------------------------------------------------------------------------------------------


def _change(n: Nodule, mean: float, exam: ExamKind, label: str) -> tuple[Change | None, int | None]:
    """The change vs the prior (computed from the prior mean when given) and the months it has been stable."""
    if exam is ExamKind.BASELINE:
        if n.change in (Change.NEW, Change.GROWING) or n.prior_mean_mm is not None:
            raise InvalidInput(f"{label}：基线检查没有既往对比，不能标为新发、增大或填写既往测量",
                               code="baseline_change")
        return None, None
    if n.prior_mean_mm is None:
        return n.change, n.stable_months
    if n.change is Change.NEW:
        raise InvalidInput(f"{label}已有既往测量，不能标为新发", code="change_mismatch")
    delta = Decimal(repr(mean)) - _tenth(n.prior_mean_mm)
    within = n.interval_months is None or n.interval_months <= GROWTH_WITHIN_MONTHS
    if delta > GROWTH_MM and within:
        computed, months = Change.GROWING, None
    elif delta > GROWTH_MM:
        computed, months = Change.STABLE, None  # slow growth: not "growing", and never a step down
    else:
        computed = Change.SMALLER if delta < -GROWTH_MM else Change.STABLE
        months = n.stable_months if n.stable_months is not None else n.interval_months
    if n.change is not None and n.change is not computed and not (
            n.change in (Change.STABLE, Change.SMALLER) and computed in (Change.STABLE, Change.SMALLER)):
        raise InvalidInput(f"{label}标为“{CHANGE_LABELS[n.change]}”，但与既往测量比较为“{CHANGE_LABELS[computed]}”",
                           code="change_mismatch")
    return computed, months


def _step_down(category: str, change: Change | None, months: int | None) -> str:
    """v2022 stepped management for stable or smaller nodules."""
    if change not in (Change.STABLE, Change.SMALLER) or months is None:
        return category
    if category == "3" and months >= 6:
        return "2"
    if category == "4A":
        return "2" if months >= 9 else "3" if months >= 3 else "4A"
    return category


def _v2022(n: Nodule, mean: float, solid: float | None, change: Change | None, months: int | None,
           exam: ExamKind) -> tuple[str, str]:
    t = V2022
    if n.type in (NoduleType.CALCIFIED, NoduleType.FAT):
        return "1", "良性钙化或含脂肪结节"
    if n.type is NoduleType.AIRWAY:
        if n.airway_level is AirwayLevel.SUBSEGMENTAL:
            return "2", "亚段气道结节"
        if exam is ExamKind.FOLLOW_UP and change in (Change.STABLE, Change.GROWING):
            return "4B", "段及以上气道结节，复查时持续存在"
        return "4A", "段及以上气道结节"
    if n.type is NoduleType.JUXTAPLEURAL and mean < 10:
        return _ladder(t["juxtapleural"], mean), "胸膜下/叶间裂旁实性结节<10 mm"
    if n.type is NoduleType.NON_SOLID:
        if mean >= 30 and change in (Change.STABLE, Change.SMALLER, Change.GROWING):
            return _ladder(t["non_solid_stable_or_growing"], mean), "磨玻璃结节≥30 mm，稳定或缓慢增长"
        return _ladder(t["non_solid"], mean), "磨玻璃结节" + ("<30 mm" if mean < 30 else "≥30 mm")
    if n.type is NoduleType.PART_SOLID:
        assert solid is not None
        if change is Change.NEW and mean < 6:
            return _ladder(t["part_solid_total_new"], mean), "新发部分实性结节，总直径<6 mm"
        if mean < 6:
            return _ladder(t["part_solid_total"], mean), "部分实性结节，总直径<6 mm"
        by_size = _ladder(t["part_solid_component"], solid)
        if change in (Change.NEW, Change.GROWING):
            grown = _ladder(t["part_solid_component_new_or_growing"], solid)
            return _highest(System.V2022, by_size, grown), f"{CHANGE_LABELS[change]}部分实性结节，实性成分{solid:g} mm"
        return _step_down(by_size, change, months), f"部分实性结节，实性成分{solid:g} mm"
    # solid, and juxtapleural >= 10 mm
    if change is Change.NEW:
        return _ladder(t["solid_new"], mean), "新发实性结节"
    if change is Change.GROWING:
        return _highest(System.V2022, _ladder(t["solid"], mean), _ladder(t["solid_growing"], mean)), "增大的实性结节"
    by_size = _ladder(t["solid"], mean)
    if n.prior_mean_mm is not None and rank(System.V2022, by_size) > rank(System.V2022, _ladder(
            t["solid"], float(_tenth(n.prior_mean_mm)))):
        return by_size, "实性结节，跨越尺寸阈值按当前大小重新分类"
    return _step_down(by_size, change, months), "实性结节"


def _china(n: Nodule, mean: float, solid: float | None) -> tuple[str, str]:
    t = CHINA
    if n.type in (NoduleType.CALCIFIED, NoduleType.FAT):
        return "0", "钙化（或含脂肪）结节"
    if n.type is NoduleType.NON_SOLID:
        return _ladder(t["non_solid"], mean), "纯磨玻璃结节"
    if n.type is NoduleType.PART_SOLID:
        assert solid is not None
        if mean < 6:
            return _ladder(t["part_solid_total"], mean), "混杂磨玻璃结节，总直径<6 mm"
        return _ladder(t["part_solid_component"], solid), f"混杂磨玻璃结节，实性成分{solid:g} mm"
    return _ladder(t["solid"], mean), "实性结节"


def assess_nodule(n: Nodule, *, exam: ExamKind, system: System = System.V2022, label: str = "结节") -> NoduleResult:
    check_nodule(n, label)
    mean = mean_diameter(n.long_mm, n.short_mm)
    solid = (mean_diameter(n.solid_long_mm, n.solid_short_mm)
             if n.type is NoduleType.PART_SOLID and n.solid_long_mm is not None and n.solid_short_mm is not None
             else None)
    if solid is not None and solid > mean:
        raise InvalidInput(f"{label}的实性成分不能大于结节本身", code="solid_exceeds_nodule")
    change, months = _change(n, mean, exam, label)
    if system is System.V2022:
        category, reason = _v2022(n, mean, solid, change, months, exam)
        if n.suspicious_features and category in ("3", "4A", "4B"):
            category, reason = "4X", reason + "，伴可疑恶性征象"
    else:
        category, reason = _china(n, mean, solid)
        if n.suspicious_features and category in ("2", "3"):
            category, reason = "4", reason + "，伴可疑恶性征象"
    return NoduleResult(mean_mm=mean, category=category, solid_mean_mm=solid, change=change, reason=reason)


def assess(*, exam: ExamKind, nodules: Sequence[Nodule], significant_other_findings: bool = False,
           prior_available: bool = True, system: System = System.V2022) -> Assessment:
    """Each nodule's category, the exam's (the most suspicious), modifiers and the recommendation."""
    if len(nodules) > MAX_NODULES:
        raise InvalidInput(f"结节数量不能超过 {MAX_NODULES} 个", code="too_many_nodules")
    results = tuple(assess_nodule(n, exam=exam, system=system, label=f"结节{i}") for i, n in enumerate(nodules, 1))
    lowest = "1" if system is System.V2022 else "0"
    category = _highest(system, lowest, *(r.category for r in results))
    if system is System.V2022 and exam is ExamKind.FOLLOW_UP and not prior_available:
        category = "0"
    modifiers = ("S",) if significant_other_findings and system is System.V2022 else ()
    advice = RECOMMENDATIONS[system][category]
    if significant_other_findings:
        advice += S_ADVICE if system is System.V2022 else S_ADVICE.replace("（S）", "")
    return Assessment(system=system, category=category, modifiers=modifiers, nodules=results,
                      recommendation=advice)


def parse_system(value: Any) -> System:
    try:
        return System(str(value))
    except ValueError:
        raise InvalidInput(f"未知的肺结节分类体系：{value}（可选 lung-rads-v2022、c-lung-rads）",
                           code="unknown_lung_rads_system") from None


def nodule_from_dict(data: Mapping[str, Any], label: str = "结节") -> Nodule:
    """A nodule from JSON-like values (the API body, the report section); unknown words refused in Chinese."""
    def enum(cls: type[StrEnum], key: str, what: str, default: Any = None) -> Any:
        raw = data.get(key)
        if raw is None or raw == "":
            return default
        try:
            return cls(raw)
        except ValueError:
            raise InvalidInput(f"{label}的{what}无效：{raw}", code="invalid_nodule") from None

    def number(key: str, what: str) -> float | None:
        raw = data.get(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise InvalidInput(f"{label}的{what}必须是数字（毫米）", code="invalid_measurement")
        return float(raw)

    def months(key: str, what: str) -> int | None:
        raw = data.get(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise InvalidInput(f"{label}的{what}须为整数（月）", code="invalid_months")
        return raw

    kind = enum(NoduleType, "type", "类型")
    if kind is None:
        raise InvalidInput(f"{label}须选择结节类型", code="invalid_nodule")
    long_mm, short_mm = number("long_mm", "长径"), number("short_mm", "短径")
    if long_mm is None or short_mm is None:
        raise InvalidInput(f"{label}须填写长径和短径（毫米）", code="missing_measurement")
    return Nodule(type=kind, long_mm=long_mm, short_mm=short_mm,
                  solid_long_mm=number("solid_long_mm", "实性成分长径"),
                  solid_short_mm=number("solid_short_mm", "实性成分短径"),
                  change=enum(Change, "change", "变化"), stable_months=months("stable_months", "稳定时间"),
                  suspicious_features=bool(data.get("suspicious_features") or False),
                  prior_mean_mm=number("prior_mean_mm", "既往平均直径"),
                  interval_months=months("interval_months", "检查间隔"),
                  airway_level=enum(AirwayLevel, "airway_level", "气道位置", AirwayLevel.SEGMENTAL))
