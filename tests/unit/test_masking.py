"""The one masking rule set for public screens (QS-3, standards.md 6.2), table-driven."""

from __future__ import annotations

import pytest

from backend.domain.masking import mask_display, mask_name, mask_number


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"),
    ("张小明", "张*明"),
    ("欧阳小明", "欧**明"),
    ("欧阳娜娜子", "欧***子"),
    ("司马相如", "司**如"),  # compound surname: first + last kept, the rest hidden
    ("李", "*"),  # one character is the whole name: hidden entirely (issue 14.7)
    (" 王 ", "*"),
    ("", ""),
    (None, ""),
    ("   ", ""),
    (" 张 小明 ", "张*明"),  # spaces are not characters of the name
    ("John Smith", "J***"),
    ("john", "J***"),
    ("Émile Zola", "É***"),
    ("J", "J***"),
    ("阿依古丽·买买提", "阿*****提"),  # the middle dot of minority names is dropped
    ("张Tom", "张**m"),  # mixed scripts starting with a Chinese character: length rule on the whole
    ("Tom张", "T***"),
    ("---", "***"),
])
def test_mask_name(name: str | None, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(("value", "masked"), [
    ("330102199001011234", "****1234"),
    ("13800138000", "****8000"),
    (12345678, "****5678"),
    ("1234", "****"),
    ("12", "**"),
    ("", ""),
    (None, ""),
    (" 1380 0138 000 ", "****8000"),
])
def test_mask_number(value: str | int | None, masked: str) -> None:
    assert mask_number(value) == masked


@pytest.mark.parametrize(("name", "enabled", "shown"), [
    ("张小明", True, "张*明"),
    ("张小明", False, "张小明"),
    ("  John  Smith ", False, "John Smith"),
    (None, False, ""),
])
def test_mask_display(name: str | None, enabled: bool, shown: str) -> None:
    assert mask_display(name, enabled) == shown
