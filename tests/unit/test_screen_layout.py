"""Layout files (QS-2): a valid layout parses; each kind of error is refused with file, line and reason."""

from __future__ import annotations

import pytest

from backend.domain.screen_layout import LayoutError, parse_layout

GOOD = """\
name = "测试布局"

[grid]
columns = 12
rows = 12
width = 1920
height = 1080

[[blocks]]
type = "title_clock"
row = 1
col = 1
row_span = 2
col_span = 12

[[blocks]]
type = "now_calling"
row = 3
col = 1
row_span = 9
col_span = 8

[[blocks]]
type = "missed"
row = 3
col = 9
row_span = 9
col_span = 4
rows = 7
scroll_speed = 45
"""


def test_good_layout_parses_with_defaults_and_options():
    layout = parse_layout(GOOD, "good.toml")
    assert layout.name == "测试布局"
    assert (layout.grid.columns, layout.grid.rows, layout.grid.width) == (12, 12, 1920)
    missed = layout.block("missed")
    assert missed is not None
    assert (missed.row, missed.col, missed.row_span, missed.col_span) == (3, 9, 9, 4)
    assert missed.option("rows") == 7
    assert missed.option("scroll_speed") == 45
    assert layout.block("now_calling").option("font_scale") == 1.0  # type: ignore[union-attr]


def _replace(old: str, new: str, nth: int = 1) -> str:
    parts = GOOD.split(old)
    assert len(parts) > nth, old
    return old.join(parts[:nth]) + new + old.join(parts[nth:])


@pytest.mark.parametrize(("text", "line", "reason"), [
    (_replace('row = 3\ncol = 9', 'row = 3\ncol = 8'), 23, "与第 16 行的区块 now_calling 重叠"),
    (_replace("col_span = 4", "col_span = 5"), 28, "超出网格"),
    (_replace("row_span = 9\ncol_span = 4", "row_span = 11\ncol_span = 4"), 27, "网格只有 12 行"),
    (_replace('type = "missed"', 'type = "weather"'), 24, "未知的区块类型 'weather'"),
    (_replace("rows = 7", "rows = 0"), 29, "rows 应在 1 到 40 之间"),
    (_replace("rows = 7", 'rows = "seven"'), 29, "rows 应为整数"),
    (_replace("scroll_speed = 45", "scroll_speed = true"), 30, "scroll_speed 应为数字"),
    (_replace("scroll_speed = 45", "scrol_speed = 45"), 30, "未知的键 scrol_speed"),
    (_replace("width = 1920", "width = 10"), 6, "grid.width 应在 320 到 7680 之间"),
    (_replace("rows = 12\n", ""), 3, "[grid] 缺少必填项 rows"),
    (_replace('name = "测试布局"\n', ""), 1, "缺少必填项 name"),
    (_replace("row = 3\ncol = 9\n", "row = 3\n"), 23, "区块 missed 缺少必填项 col"),
    (GOOD.split("[[blocks]]\ntype = \"missed\"")[0], 9, "缺少必需的区块 missed"),
    (_replace("col = 1", "col = 1 1"), 12, "TOML 语法错误"),
    (GOOD + "\n[extra]\nx = 1\n", 32, "未知的键 extra"),
])
def test_invalid_layout_refused_with_line_and_reason(text: str, line: int, reason: str):
    with pytest.raises(LayoutError) as err:
        parse_layout(text, "bad.toml")
    assert err.value.line == line, err.value.message
    assert reason in err.value.reason
    assert err.value.message.startswith(f"bad.toml:{line}: ")
    assert err.value.code == "invalid_layout"
