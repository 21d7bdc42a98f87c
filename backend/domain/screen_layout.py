"""Hall screen layouts (QS-1/QS-2): a TOML file describing a grid and its blocks, validated with the
file, line and reason of the first error so a wrong layout is refused at start-up and in the admin page."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from backend.domain.errors import InvalidInput

BLOCK_TYPES: Final[Mapping[str, str]] = {
    "title_clock": "标题与时钟",
    "now_calling": "正在叫号",
    "waiting": "候检队列",
    "missed": "过号患者",
    "ticker": "通知滚动条",
}
# Every hall screen must show who is called and who missed (QS-1).
REQUIRED_BLOCKS: Final = ("now_calling", "missed")
# Option -> (kind, minimum, maximum) for numbers; "str" and "list" for the others.
OPTIONS: Final[Mapping[str, tuple[str, float, float]]] = {
    "rows": ("int", 1, 40),
    "scroll_speed": ("float", 1, 400),  # pixels per second
    "font_scale": ("float", 0.5, 4),
    "title": ("str", 0, 40),
    "text": ("str", 0, 200),
    "queues": ("list", 0, 50),
    "rooms": ("list", 0, 50),
}
POSITION_KEYS: Final = ("row", "col", "row_span", "col_span")
GRID_KEYS: Final = {"columns": (1, 48), "rows": (1, 48), "width": (320, 7680), "height": (240, 7680)}
DEFAULT_ROWS: Final = {"now_calling": 6, "waiting": 10, "missed": 8}
DEFAULT_SCROLL_SPEED: Final = 30.0


class LayoutError(InvalidInput):
    """A refused layout file: `file:line: reason`."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}", code="invalid_layout")
        self.file, self.line, self.reason = file, line, reason


@dataclass(frozen=True, slots=True)
class Grid:
    columns: int
    rows: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    row: int
    col: int
    row_span: int
    col_span: int
    options: Mapping[str, Any] = field(default_factory=dict)

    def cells(self) -> set[tuple[int, int]]:
        return {(r, c) for r in range(self.row, self.row + self.row_span)
                for c in range(self.col, self.col + self.col_span)}

    def option(self, key: str) -> Any:
        """The block's option or its default (rows per type, scroll speed, font scale 1)."""
        if key in self.options:
            return self.options[key]
        return {"rows": DEFAULT_ROWS.get(self.type, 6), "scroll_speed": DEFAULT_SCROLL_SPEED,
                "font_scale": 1.0}.get(key)


@dataclass(frozen=True, slots=True)
class Layout:
    file: str
    name: str
    grid: Grid
    blocks: tuple[Block, ...]

    def block(self, kind: str) -> Block | None:
        return next((b for b in self.blocks if b.type == kind), None)


class _Lines:
    """Where each key and `[[blocks]]` header sits in the text (tomllib gives no lines for values)."""

    HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[str, int, str], int] = {}
        self.sections: dict[tuple[str, int], int] = {}
        section, index, counts = "", 0, {"blocks": -1}
        for n, line in enumerate(text.splitlines(), 1):
            head = self.HEADER.match(line)
            if head:
                section = head.group(2)
                counts[section] = counts.get(section, -1) + 1
                index = counts[section] if head.group(1) == "[[" else 0
                self.sections.setdefault((section, index), n)
                continue
            key = self.KEY.match(line)
            if key:
                self.keys.setdefault((section, index, key.group(1)), n)

    def of(self, section: str, index: int = 0, key: str | None = None) -> int:
        if key is not None and (section, index, key) in self.keys:
            return self.keys[(section, index, key)]
        return self.sections.get((section, index), 1)


def _number(value: Any, kind: str, lo: float, hi: float) -> str | None:
    """None if `value` is a number of `kind` within [lo, hi], else the Chinese reason."""
    ok_type = isinstance(value, int) if kind == "int" else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        return f"应为{'整数' if kind == 'int' else '数字'}，实际为 {value!r}"
    if not lo <= value <= hi:
        return f"应在 {lo:g} 到 {hi:g} 之间，实际为 {value!r}"
    return None


def _grid(data: Mapping[str, Any], file: str, lines: _Lines) -> Grid:
    raw = data.get("grid")
    if not isinstance(raw, dict):
        raise LayoutError(file, lines.of("grid"), "缺少必填的 [grid] 表（columns, rows, width, height）")
    values = {}
    for key, (lo, hi) in GRID_KEYS.items():
        if key not in raw:
            raise LayoutError(file, lines.of("grid"), f"[grid] 缺少必填项 {key}")
        reason = _number(raw[key], "int", lo, hi)
        if reason:
            raise LayoutError(file, lines.of("grid", 0, key), f"grid.{key} {reason}")
        values[key] = raw[key]
    for key in raw:
        if key not in GRID_KEYS:
            raise LayoutError(file, lines.of("grid", 0, key), f"[grid] 未知的键 {key}")
    return Grid(**values)


def _options(raw: Mapping[str, Any], where: str, fail: Callable[[str | None, str], LayoutError]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("type", *POSITION_KEYS):
            continue
        if key not in OPTIONS:
            raise fail(key, f"{where} 未知的键 {key}")
        kind, lo, hi = OPTIONS[key]
        if kind in ("int", "float"):
            reason = _number(value, kind, lo, hi)
        elif kind == "str":
            reason = None if isinstance(value, str) and len(value) <= hi else f"应为不超过 {hi:g} 字的文本"
        else:
            reason = None if isinstance(value, list) and all(isinstance(v, str) for v in value) else "应为文本列表"
        if reason:
            raise fail(key, f"{where} {key} {reason}")
        options[key] = value
    return options


def _block(i: int, raw: Any, grid: Grid, file: str, lines: _Lines) -> Block:
    def fail(key: str | None, reason: str) -> LayoutError:
        return LayoutError(file, lines.of("blocks", i, key), reason)

    where = f"第 {i + 1} 个区块"
    if not isinstance(raw, dict):
        raise fail(None, f"{where} 应为 [[blocks]] 表")
    kind = raw.get("type")
    if kind is None:
        raise fail(None, f"{where} 缺少必填项 type")
    if kind not in BLOCK_TYPES:
        raise fail("type", f"{where} 未知的区块类型 {kind!r}（可选：{', '.join(BLOCK_TYPES)}）")
    where = f"区块 {kind}"
    pos = {}
    for key in POSITION_KEYS:
        if key not in raw:
            if key in ("row", "col"):
                raise fail(None, f"{where} 缺少必填项 {key}")
            pos[key] = 1
            continue
        reason = _number(raw[key], "int", 1, 48)
        if reason:
            raise fail(key, f"{where} {key} {reason}")
        pos[key] = raw[key]
    if pos["row"] + pos["row_span"] - 1 > grid.rows:
        raise fail("row_span" if "row_span" in raw else "row",
                          f"{where} 超出网格：第 {pos['row']} 行起跨 {pos['row_span']} 行，网格只有 {grid.rows} 行")
    if pos["col"] + pos["col_span"] - 1 > grid.columns:
        raise fail("col_span" if "col_span" in raw else "col",
                          f"{where} 超出网格：第 {pos['col']} 列起跨 {pos['col_span']} 列，网格只有 {grid.columns} 列")
    return Block(type=kind, options=_options(raw, where, fail), **pos)


def parse_layout(text: str, file: str) -> Layout:
    """Parse and validate one layout file's text; raise LayoutError("file:line: reason") if invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise LayoutError(file, int(found.group(1)) if found else 1, f"TOML 语法错误：{exc}") from exc
    lines = _Lines(text)
    for key in data:
        if key not in ("name", "grid", "blocks"):
            raise LayoutError(file, lines.of(key if (key, 0) in lines.sections else "", 0, key), f"未知的键 {key}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LayoutError(file, lines.of("", 0, "name"), "缺少必填项 name（布局名称）")
    grid = _grid(data, file, lines)
    raw_blocks = data.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise LayoutError(file, lines.of("blocks"), "缺少 [[blocks]] 区块")
    blocks: list[Block] = []
    taken: dict[tuple[int, int], int] = {}
    for i, raw in enumerate(raw_blocks):
        block = _block(i, raw, grid, file, lines)
        clash = block.cells() & taken.keys()
        if clash:
            other = blocks[taken[min(clash)]]
            raise LayoutError(file, lines.of("blocks", i),
                              f"区块 {block.type} 与第 {lines.of('blocks', taken[min(clash)])} 行的区块 "
                              f"{other.type} 重叠（第 {min(clash)[0]} 行第 {min(clash)[1]} 列）")
        taken.update(dict.fromkeys(block.cells(), i))
        blocks.append(block)
    for kind in REQUIRED_BLOCKS:
        if not any(b.type == kind for b in blocks):
            raise LayoutError(file, lines.of("blocks"), f"缺少必需的区块 {kind}（{BLOCK_TYPES[kind]}）")
    return Layout(file=file, name=name.strip(), grid=grid, blocks=tuple(blocks))
