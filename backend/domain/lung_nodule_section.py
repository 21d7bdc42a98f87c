"""The structured lung-nodule report section (LN-9): a SectionKind "lung_nodules" for report templates.

Its value (JSON, stored in the report version like any section):
    {"system": "lung-rads-v2022" | "c-lung-rads", "exam": "baseline" | "follow_up", "prior_available": bool,
     "no_nodules": bool,
     "nodules": [{"lobe", "segment", "series", "image", "type", "long_mm", "short_mm", "solid_long_mm",
                  "solid_short_mm", "volume_mm3", "change", "stable_months", "suspicious_features"}],
     "other": {"emphysema", "coronary_calcification": "none" | "mild" | "moderate" | "severe",
               "findings": str, "significant": bool},
     "override": {"category": str | null, "reason": str},
     "key_images": [{"study_uid", "series_uid", "sop_uid", "frame", "window": [centre, width] | null,
                     "series": int | null, "image": int | null}],   # marked in the viewer, printed (at most 8)
     "suggested": {...}}   # computed by `clean` with backend.domain.lung_rads, never taken from the client
The printed category is the override's when there is one (its reason is kept and printed), else the suggestion.
Moderate or severe coronary calcification counts as a significant other finding (the S modifier), as the
ACR lists it; the reader can mark any other finding significant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from backend.domain import lung_rads as rules
from backend.domain.errors import InvalidInput
from backend.domain.report_sections import SectionKind, register_kind

KIND: Final = "lung_nodules"
LOBES: Final[Mapping[str, str]] = {"RUL": "右肺上叶", "RML": "右肺中叶", "RLL": "右肺下叶", "LUL": "左肺上叶",
                                   "LLL": "左肺下叶"}
GRADES: Final[Mapping[str, str]] = {"none": "无", "mild": "轻度", "moderate": "中度", "severe": "重度"}
EXAM_LABELS: Final[Mapping[str, str]] = {"baseline": "基线筛查", "follow_up": "随访复查"}
MAX_SHORT_TEXT: Final = 40
MAX_LONG_TEXT: Final = 2000
MAX_KEY_IMAGES: Final = 8
UID_RE: Final = re.compile(r"^[0-9]+(\.[0-9]+)*$")
TABLE_HEAD: Final = ("编号", "位置", "序列/图像", "类型", "长径×短径(mm)", "平均直径(mm)", "实性成分(mm)",
                     "体积(mm³)", "与既往比较", "分类")


def _title(section: Mapping[str, Any]) -> str:
    return str(section.get("title", section.get("key", "肺结节")))


def _text(value: Any, what: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}必须是文本", code="invalid_section")
    if len(value) > limit:
        raise InvalidInput(f"{what}不能超过 {limit} 字", code="section_too_long")
    return value.strip()


def _count(value: Any, what: str, limit: int = 100000) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InvalidInput(f"{what}须为 0–{limit} 之间的整数", code="invalid_section")
    return value


def _choice(value: Any, options: Mapping[str, str], what: str, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in options:
        raise InvalidInput(f"{what}无效：{value}", code="invalid_section")
    return str(value)


def _nodule(raw: Any, i: int) -> tuple[dict[str, Any], rules.Nodule]:
    label = f"结节{i}"
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{label}的格式无效", code="invalid_section")
    parsed = rules.nodule_from_dict(raw, label)
    volume = raw.get("volume_mm3")
    if volume is not None and volume != "" and (isinstance(volume, bool) or not isinstance(volume, int | float)
                                                or not 0 < volume <= 15_000_000):
        raise InvalidInput(f"{label}的体积须为正数（mm³）", code="invalid_measurement")
    kept = {
        "lobe": _choice(raw.get("lobe"), LOBES, f"{label}的肺叶", ""),
        "segment": _text(raw.get("segment"), f"{label}的肺段", MAX_SHORT_TEXT),
        "series": _count(raw.get("series"), f"{label}的序列号"),
        "image": _count(raw.get("image"), f"{label}的图像号"),
        "type": parsed.type.value, "long_mm": parsed.long_mm, "short_mm": parsed.short_mm,
        "solid_long_mm": parsed.solid_long_mm, "solid_short_mm": parsed.solid_short_mm,
        "volume_mm3": round(float(volume)) if volume not in (None, "") else None,
        "change": parsed.change.value if parsed.change else None, "stable_months": parsed.stable_months,
        "suspicious_features": parsed.suspicious_features,
    }
    if parsed.airway_level is not rules.AirwayLevel.SEGMENTAL:
        kept["airway_level"] = parsed.airway_level.value
    return kept, parsed


def _uid(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > 64 or not UID_RE.match(value):
        raise InvalidInput(f"{what}无效", code="invalid_key_image")
    return value


def _window(value: Any, what: str) -> list[float] | None:
    if value is None or value == "":
        return None
    if (not isinstance(value, list | tuple) or len(value) != 2
            or any(isinstance(x, bool) or not isinstance(x, int | float) for x in value)
            or not -32768 <= value[0] <= 65535 or not 1 <= value[1] <= 65535):
        raise InvalidInput(f"{what}的窗位/窗宽无效", code="invalid_key_image")
    return [round(float(value[0]), 1), round(float(value[1]), 1)]


def key_images(value: Any) -> list[dict[str, Any]]:
    """The marked key images, checked (UIDs, frame, window, series/image numbers), duplicates dropped."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("关键图像列表格式无效", code="invalid_key_image")
    if len(value) > MAX_KEY_IMAGES * 4:
        raise InvalidInput(f"关键图像不能超过 {MAX_KEY_IMAGES} 幅", code="too_many_key_images")
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(value, 1):
        what = f"关键图像{i}"
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{what}的格式无效", code="invalid_key_image")
        frame = _count(raw.get("frame"), f"{what}的帧号", 10000) or 1
        kept = {"study_uid": _uid(raw.get("study_uid"), f"{what}的检查 UID"),
                "series_uid": _uid(raw.get("series_uid"), f"{what}的序列 UID"),
                "sop_uid": _uid(raw.get("sop_uid"), f"{what}的图像 UID"), "frame": frame,
                "window": _window(raw.get("window"), what),
                "series": _count(raw.get("series"), f"{what}的序列号"),
                "image": _count(raw.get("image"), f"{what}的图像号")}
        if any(k["sop_uid"] == kept["sop_uid"] and k["frame"] == frame for k in out):
            continue
        out.append(kept)
    if len(out) > MAX_KEY_IMAGES:
        raise InvalidInput(f"关键图像不能超过 {MAX_KEY_IMAGES} 幅", code="too_many_key_images")
    return out


def key_caption(key: Mapping[str, Any]) -> str:
    """The printed caption of a key image: its series and image numbers."""
    def num(v: Any) -> str:
        return "—" if v is None else str(v)

    return f"序列 {num(key.get('series'))} / 图像 {num(key.get('image'))}"


def clean(section: Mapping[str, Any], value: Any) -> dict[str, Any] | None:
    """Check a lung-nodule section and compute its suggested category (Chinese reasons on bad input)."""
    if value is None:
        return None
    title = _title(section)
    if not isinstance(value, Mapping):
        raise InvalidInput(f"“{title}”的格式无效", code="invalid_section")
    system = rules.parse_system(value.get("system") or section.get("system") or rules.System.V2022)
    exam = rules.ExamKind(_choice(value.get("exam"), EXAM_LABELS, "检查类型", rules.ExamKind.BASELINE.value))
    raw_nodules = value.get("nodules") or []
    if not isinstance(raw_nodules, list):
        raise InvalidInput(f"“{title}”的结节列表格式无效", code="invalid_section")
    if len(raw_nodules) > rules.MAX_NODULES:
        raise InvalidInput(f"结节数量不能超过 {rules.MAX_NODULES} 个", code="too_many_nodules")
    pairs = [_nodule(raw, i) for i, raw in enumerate(raw_nodules, 1)]
    other_raw = value.get("other") or {}
    if not isinstance(other_raw, Mapping):
        raise InvalidInput(f"“{title}”的其他发现格式无效", code="invalid_section")
    other: dict[str, Any] = {"emphysema": _choice(other_raw.get("emphysema"), GRADES, "肺气肿程度", "none"),
             "coronary_calcification": _choice(other_raw.get("coronary_calcification"), GRADES, "冠状动脉钙化程度",
                                               "none"),
             "findings": _text(other_raw.get("findings"), "其他发现", MAX_LONG_TEXT),
             "significant": bool(other_raw.get("significant"))}
    significant = bool(other["significant"]) or other["coronary_calcification"] in ("moderate", "severe")
    prior_available = value.get("prior_available", True) is not False
    suggested = rules.assess(exam=exam, nodules=[p for _, p in pairs], significant_other_findings=significant,
                             prior_available=prior_available, system=system)
    override_raw = value.get("override") or {}
    if not isinstance(override_raw, Mapping):
        raise InvalidInput("分类调整的格式无效", code="invalid_section")
    category = override_raw.get("category") or None
    reason = _text(override_raw.get("reason"), "调整分类的原因", MAX_LONG_TEXT)
    if category is not None and category not in rules.ORDER[system]:
        raise InvalidInput(f"调整后的分类无效：{category}（可选 {'、'.join(rules.ORDER[system])}）",
                           code="invalid_category")
    if category is not None and not reason:
        raise InvalidInput("调整建议分类须填写原因", code="override_reason_required")
    return {"system": system.value, "exam": exam.value, "prior_available": prior_available,
            "no_nodules": bool(value.get("no_nodules")) and not pairs,
            "nodules": [kept for kept, _ in pairs], "other": other,
            "override": {"category": category, "reason": reason if category else ""},
            "key_images": key_images(value.get("key_images")),
            "suggested": suggested.as_dict()}


@dataclass(frozen=True, slots=True)
class Printed:
    """A lung-nodule section for print: the nodule table and the summary lines under it."""

    head: tuple[str, ...]
    rows: list[list[str]]
    lines: list[str]


def _mm(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f}"


def final_category(value: Mapping[str, Any]) -> str:
    """The category the report states: the reader's override, else the suggestion (with its modifiers)."""
    suggested = value.get("suggested") or {}
    modifiers = "".join(suggested.get("modifiers") or [])
    override = (value.get("override") or {}).get("category")
    return str(override or suggested.get("category", "")) + modifiers


def recommendation(value: Mapping[str, Any]) -> str:
    """The management advice for the stated category (the override's when the reader changed it)."""
    suggested = value.get("suggested") or {}
    override = (value.get("override") or {}).get("category")
    if not override:
        return str(suggested.get("recommendation", ""))
    system = rules.System(value.get("system", rules.System.V2022))
    advice = rules.RECOMMENDATIONS[system][override]
    if "S" in (suggested.get("modifiers") or []):
        advice += rules.S_ADVICE
    return advice


def printed(value: Any) -> Printed | None:
    if not isinstance(value, Mapping) or "suggested" not in value:
        return None
    suggested = value["suggested"]
    results = suggested.get("nodules") or []
    rows = []
    for i, (n, r) in enumerate(zip(value.get("nodules") or [], results, strict=False), 1):
        where = " ".join(x for x in (LOBES.get(n.get("lobe") or "", ""), n.get("segment") or "") if x) or "—"
        image = f"{n.get('series') if n.get('series') is not None else '—'}/" \
                f"{n.get('image') if n.get('image') is not None else '—'}"
        change = rules.CHANGE_LABELS[rules.Change(n["change"])] if n.get("change") else "—"
        if n.get("change") in ("stable", "smaller") and n.get("stable_months") is not None:
            change += f"（{n['stable_months']}个月）"
        rows.append([str(i), where, image, rules.TYPE_LABELS[rules.NoduleType(n["type"])],
                     f"{_mm(n['long_mm'])}×{_mm(n['short_mm'])}", _mm(r.get("mean_mm")),
                     _mm(r.get("solid_mean_mm")) if r.get("solid_mean_mm") is not None else "—",
                     str(n["volume_mm3"]) if n.get("volume_mm3") is not None else "—", change, r.get("category", "")])
    system = rules.System(value.get("system", rules.System.V2022))
    other = value.get("other") or {}
    lines = [f"分类体系：{rules.SYSTEM_LABELS[system]}；{EXAM_LABELS.get(value.get('exam', ''), '')}"
             + ("（既往CT暂不可对比）" if value.get("prior_available") is False else "")]
    if not rows:
        lines.append("未见肺结节。")
    others = [f"肺气肿：{GRADES.get(other.get('emphysema', 'none'), '无')}",
              f"冠状动脉钙化：{GRADES.get(other.get('coronary_calcification', 'none'), '无')}"]
    if other.get("findings"):
        others.append(f"其他：{other['findings']}")
    lines.append("其他发现：" + "；".join(others))
    suggested_label = suggested.get("category", "") + "".join(suggested.get("modifiers") or [])
    override = value.get("override") or {}
    if override.get("category"):
        lines.append(f"结论分类：{final_category(value)}（系统建议 {suggested_label}；"
                     f"医师调整原因：{override['reason']}）")
    else:
        lines.append(f"结论分类：{suggested_label}")
    lines.append(f"处理建议：{recommendation(value)}")
    return Printed(head=TABLE_HEAD, rows=rows, lines=lines)


def as_text(_section: Mapping[str, Any], value: Any) -> str:
    p = printed(value)
    if p is None:
        return ""
    table = [" | ".join(p.head), *(" | ".join(r) for r in p.rows)]
    return "\n".join([*(table if p.rows else []), *p.lines])


def empty(value: Any) -> bool:
    return not isinstance(value, Mapping) or (not value.get("nodules") and not value.get("no_nodules"))


register_kind(SectionKind(KIND, clean, as_text, empty))
