"""Report sections as data: free text now; a new section kind plugs in without touching the core."""

from __future__ import annotations

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.report_sections import (
    SectionKind,
    clean_sections,
    initial_sections,
    missing_required,
    printable,
    register_kind,
)

FREE = [{"key": "findings", "title": "检查所见"}, {"key": "impression", "title": "诊断意见"}]


def test_free_text_sections():
    start = initial_sections(FREE)
    assert start == {"findings": "", "impression": ""}
    values = clean_sections(FREE, {"findings": "a\r\nb"}, previous=start)
    assert values == {"findings": "a\nb", "impression": ""}
    assert missing_required(FREE, values) == ["诊断意见"]
    assert printable(FREE, values) == [("检查所见", "a\nb"), ("诊断意见", "")]


@pytest.mark.parametrize("values", [{"other": "x"}, {"findings": ["x"]}, {"findings": "字" * 20001}])
def test_bad_values_are_refused(values):
    with pytest.raises(InvalidInput):
        clean_sections(FREE, values)


def test_a_structured_kind_is_added_without_changing_the_core():
    def clean(_section, value):
        if not isinstance(value, dict) or "category" not in value:
            raise InvalidInput("缺少分类", code="invalid_section")
        return {"category": str(value["category"])}

    register_kind(SectionKind("test_lung_rads", clean, lambda _s, v: f"Lung-RADS {v['category']}" if v else "",
                              lambda v: not v))
    template = [*FREE, {"key": "lung_rads", "title": "Lung-RADS 分类", "kind": "test_lung_rads"}]
    values = clean_sections(template, {"lung_rads": {"category": "4A", "extra": 1}})
    assert values["lung_rads"] == {"category": "4A"}
    assert printable(template, values)[-1] == ("Lung-RADS 分类", "Lung-RADS 4A")
    assert missing_required(template, initial_sections(template)) == ["检查所见", "诊断意见", "Lung-RADS 分类"]
    with pytest.raises(InvalidInput):
        clean_sections(template, {"lung_rads": "4A"})
    with pytest.raises(InvalidInput):
        clean_sections([{"key": "x", "kind": "nope"}], {"x": 1})
