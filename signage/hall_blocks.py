"""The blocks of a hall screen as Dash components, from the layout and the screen state (pure functions)."""

from __future__ import annotations

import math
from typing import Any

from dash import html

from backend.domain.queue_flow import MISSED_INSTRUCTION
from backend.domain.screen_layout import BLOCK_TYPES, Block, Layout

HEADER_VH = 5.0  # height of a block's title bar, in % of the screen height
ROW_FILL = 0.52  # font size as a share of a list row's height
GRID_PAD_VH, GRID_GAP_VH = 0.8, 0.6  # .hall-grid padding and gap
WIDE_PX = 960  # a list block at least this wide (on the design screen) shows two columns
MAX_COLUMNS = 3


def block_metrics(layout: Layout, block: Block) -> dict[str, Any]:
    """Sizes of a block's list rows: row height in vh, its pixels on the design screen, font size (vmin)."""
    rows = int(block.option("rows"))
    # The grid's padding and gaps (assets/hall_screen.css) take their share first, or the last row is cut.
    g = layout.grid.rows
    block_vh = (100.0 - 2 * GRID_PAD_VH - (g - 1) * GRID_GAP_VH) * block.row_span / g \
        + (block.row_span - 1) * GRID_GAP_VH
    header = HEADER_VH if block.type in ("now_calling", "waiting", "missed") else 0.0
    row_vh = max((block_vh - header - 1.2) / rows, 1.0)  # 1 vh body padding, 0.2 vh borders
    font_vh = row_vh * ROW_FILL * float(block.option("font_scale"))
    return {"type": block.type, "rows": rows, "row_vh": round(row_vh, 3), "font_vh": round(min(font_vh, 9.0), 3),
            "row_px": row_vh / 100.0 * layout.grid.height, "speed": float(block.option("scroll_speed")),
            "queues": list(block.options.get("queues", [])), "rooms": list(block.options.get("rooms", [])),
            "title": block.options.get("title", ""), "text": block.options.get("text", ""),
            "width_px": layout.grid.width * block.col_span / layout.grid.columns}


def grid_style(layout: Layout) -> dict[str, str]:
    g = layout.grid
    return {"gridTemplateColumns": f"repeat({g.columns}, 1fr)", "gridTemplateRows": f"repeat({g.rows}, 1fr)"}


def place(block: Block) -> dict[str, str]:
    return {"gridRow": f"{block.row} / span {block.row_span}", "gridColumn": f"{block.col} / span {block.col_span}"}


def _row(m: dict[str, Any], cells: list[Any], cls: str = "", cols: int = 1, **attrs: Any) -> Any:
    # Several columns share the width: the font shrinks with them so that codes and names stay readable.
    font = m["font_vh"] * (1.0 if cols == 1 else 0.8 / math.sqrt(cols - 1))
    style = {"height": f"{m['row_vh']}vh", "fontSize": f"{font:.3f}vmin"}
    return html.Div(cells, className=f"hall-row {cls}".strip(), style=style, **attrs)


def _columns(rows: list[Any], m: dict[str, Any], cols: int) -> list[Any]:
    """Rows in `cols` columns, filled top to bottom then left to right (reading order of a list)."""
    if cols == 1:
        return rows
    style = {"gridTemplateColumns": f"repeat({cols}, minmax(0, 1fr))",
             "gridTemplateRows": f"repeat({m['rows']}, {m['row_vh']}vh)"}
    return [html.Div(rows, className="hall-columns", style=style)]


def _flag(t: dict[str, Any] | None) -> list[Any]:
    """The priority mark after a (masked) name: 急诊 or 优先 (issue 15 item 7)."""
    flag = (t or {}).get("flag") or ""
    return [html.Span(flag, className="hall-flag")] if flag else []


def _filter(items: list[dict[str, Any]], m: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in items if not m["queues"] or t["queue_code"] in m["queues"]]


def now_calling(state: dict[str, Any], m: dict[str, Any]) -> Any:
    """One line per room in a fixed room order (a call never moves a row); more rooms than rows: columns."""
    shown = [r for r in state["now_calling"] if not m["rooms"] or r["room_code"] in m["rooms"]]
    if not shown:
        return [html.Div("暂无诊室", className="hall-empty")]
    cols = min(math.ceil(len(shown) / m["rows"]), MAX_COLUMNS)
    lines = []
    for room in shown[: m["rows"] * cols]:
        t = room["ticket"]
        cells = [html.Span(room["room_name"], className="hall-room"),
                 html.Span(t["code"] if t else "—", className="hall-code"),
                 html.Span(t["name"] if t else "暂无叫号", className="hall-name" if t else "hall-idle"), *_flag(t)]
        lines.append(_row(m, cells, "hall-calling-live" if t else "hall-calling-idle", cols,
                          **{"data-room": room["room_code"]}))
    return _columns(lines, m, cols)


def waiting(state: dict[str, Any], m: dict[str, Any]) -> Any:
    """The next patients in queue order, in two columns when the block is wide enough to read them."""
    items = _filter(state["waiting"], m)
    if not items:
        return [html.Div("当前无候检患者", className="hall-empty")]
    cols = 2 if m.get("width_px", 0) >= WIDE_PX else 1
    slots = m["rows"] * cols
    queue = [] if cols > 1 else ["queue"]  # two columns: the queue name gives its room to the patient's name
    rows = [_row(m, [html.Span(f"{i}", className="hall-seq"), html.Span(t["code"], className="hall-code"),
                     html.Span(t["name"], className="hall-name"), *_flag(t),
                     *[html.Span(t["queue_name"], className="hall-queue") for _ in queue]],
                 "hall-waiting-row", cols)
            for i, t in enumerate(items[:slots], 1)]
    if len(items) > slots:
        rows[-1] = _row(m, [html.Span(f"另有 {len(items) - slots + 1} 位候检患者", className="hall-more")],
                        "hall-waiting-more", cols)
    return _columns(rows, m, cols)


def missed(state: dict[str, Any], m: dict[str, Any]) -> Any:
    """Missed patients (过号); when more than fit, assets/hall_missed.js pages through them by ticket, so that
    every one is shown within one loop however often ticket events and the re-sync redraw the block (14.4)."""
    items = _filter(state["missed"], m)
    if not items:
        return [html.Div("暂无过号患者", className="hall-empty")]
    rows = [_row(m, [html.Span(t["code"], className="hall-code"), html.Span(t["name"], className="hall-name"),
                     *_flag(t), html.Span(t["room_name"], className="hall-queue")], "hall-missed-row",
                 **{"data-ticket": str(t["ticket_id"])}) for t in items]
    if len(items) <= m["rows"]:
        return [html.Div(rows, className="hall-track")]
    # One page stays as long as its rows take to pass at the layout's scroll speed.
    seconds = max(m["rows"] * m["row_px"] / max(m["speed"], 1.0), 2.0)
    return [html.Div(rows, className="hall-track hall-paged", **{"data-rows": str(m["rows"]),
                                                                "data-seconds": f"{seconds:.1f}",
                                                                "data-total": str(len(items))})]


def ticker(state: dict[str, Any], m: dict[str, Any]) -> Any:
    text = m["text"] or state["screen"]["notice"]
    return [html.Div(html.Span(text, className="hall-ticker-text"), className="hall-ticker-track")]


RENDER = {"now_calling": now_calling, "waiting": waiting, "missed": missed, "ticker": ticker}
TITLES = {**BLOCK_TYPES, "missed": f"过号患者 · {MISSED_INSTRUCTION.removeprefix('过号患者')}"}


def body(kind: str, state: dict[str, Any], m: dict[str, Any]) -> Any:
    """The children of one block's body for the current state."""
    render = RENDER.get(kind)
    return render(state, m) if render else []
