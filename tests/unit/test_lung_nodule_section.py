"""The "lung_nodules" report section kind: registered, checked, suggested, overridden and rendered as text."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.lung_nodule_section import KIND, final_category, printed, recommendation
from backend.domain.report_sections import clean_sections, kind_of, missing_required, printable

TEMPLATE = [{"key": "lung_nodules", "title": "肺结节", "kind": KIND, "default": None},
            {"key": "impression", "title": "诊断意见", "default": ""}]


def value(**extra: Any) -> dict[str, Any]:
    v: dict[str, Any] = {"exam": "follow_up", "nodules": [
        {"lobe": "RML", "segment": "外侧段", "series": 2, "image": 88, "type": "solid", "long_mm": 7.0,
         "short_mm": 6.0, "change": "stable", "stable_months": 6},
    ], "other": {"emphysema": "severe", "coronary_calcification": "mild", "findings": "甲状腺结节",
                 "significant": True}}
    v.update(extra)
    return v


def test_the_kind_is_registered_and_cleaned_through_the_core():
    assert kind_of(TEMPLATE[0]).name == KIND
    cleaned = clean_sections(TEMPLATE, {"lung_nodules": value(suggested={"category": "4X"})})
    section = cleaned["lung_nodules"]
    assert section["system"] == "lung-rads-v2022"
    assert section["suggested"]["category"] == "2"  # a 3 (6.5 mm) stable for 6 months steps down to 2
    assert section["suggested"]["modifiers"] == ["S"]
    assert missing_required(TEMPLATE, cleaned) == ["诊断意见"]


def test_text_is_a_readable_chinese_table():
    cleaned = clean_sections(TEMPLATE, {"lung_nodules": value()})
    text = dict(printable(TEMPLATE, cleaned))["肺结节"]
    lines = text.splitlines()
    assert lines[0].startswith("编号 | 位置 | 序列/图像")
    assert lines[1] == "1 | 右肺中叶 外侧段 | 2/88 | 实性 | 7.0×6.0 | 6.5 | — | — | 稳定（6个月） | 2"
    assert "分类体系：Lung-RADS v2022 (ACR)；随访复查" in text
    assert "肺气肿：重度；冠状动脉钙化：轻度；其他：甲状腺结节" in text
    assert "结论分类：2S" in text
    assert "处理建议：继续年度筛查" in text


def test_an_override_keeps_its_reason_and_changes_the_advice():
    cleaned = clean_sections(TEMPLATE, {"lung_nodules": value(override={"category": "4A", "reason": "边缘毛刺"})})
    section = cleaned["lung_nodules"]
    assert final_category(section) == "4AS"
    assert recommendation(section).startswith("3个月后复查低剂量CT")
    p = printed(section)
    assert p is not None
    assert "结论分类：4AS（系统建议 2S；医师调整原因：边缘毛刺）" in p.lines


@pytest.mark.parametrize(("override", "words"), [
    ({"category": "4A"}, "原因"),
    ({"category": "5", "reason": "x"}, "分类无效"),
    ({"category": "4", "reason": "x"}, "分类无效"),  # a C-Lung-RADS category under Lung-RADS v2022
])
def test_bad_overrides_are_refused(override: dict[str, Any], words: str):
    with pytest.raises(InvalidInput, match=words):
        clean_sections(TEMPLATE, {"lung_nodules": value(override=override)})


@pytest.mark.parametrize(("bad", "words"), [
    ({"nodules": [{"type": "solid", "long_mm": 5, "short_mm": 5, "lobe": "XYZ"}]}, "肺叶"),
    ({"nodules": [{"type": "solid", "long_mm": 5, "short_mm": 5, "volume_mm3": -3}]}, "体积"),
    ({"nodules": [{"type": "solid", "long_mm": 5, "short_mm": 5, "series": "3"}]}, "序列号"),
    ({"nodules": "none"}, "结节列表"),
    ({"other": {"emphysema": "huge"}}, "肺气肿"),
    ({"system": "fleischner"}, "分类体系"),
])
def test_bad_section_values_are_refused_in_chinese(bad: dict[str, Any], words: str):
    with pytest.raises(InvalidInput, match=words):
        clean_sections(TEMPLATE, {"lung_nodules": value(**bad)})


def test_a_section_with_no_nodules_is_empty_until_the_doctor_says_none_were_seen():
    empty = clean_sections(TEMPLATE, {"lung_nodules": value(nodules=[]), "impression": "无"})
    assert missing_required(TEMPLATE, empty) == ["肺结节"]
    stated = clean_sections(TEMPLATE, {"lung_nodules": value(nodules=[], no_nodules=True), "impression": "无"})
    assert missing_required(TEMPLATE, stated) == []
    assert "未见肺结节。" in dict(printable(TEMPLATE, stated))["肺结节"]
