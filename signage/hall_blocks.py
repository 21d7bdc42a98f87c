"""The blocks of a hall screen as Dash components, from the layout and the screen state (pure functions)."""

from __future__ import annotations

from typing import Any

from dash import html

from backend.domain.screen_layout import BLOCK_TYPES, Block, Layout

HEADER_VH = 5.0  # height of a block's title bar, in % of the screen height
ROW_FILL = 0.52  # font size as a share of a list row's height


def block_metrics(layout: Layout, block: Block) -> dict[str, Any]:
    """Sizes of a block's list rows: row height in vh, its pixels on the design screen, font size (vmin)."""
    rows = int(block.option("rows"))
    block_vh = 100.0 * block.row_span / layout.grid.rows
    header = HEADER_VH if block.type in ("now_calling", "waiting", "missed") else 0.0
    row_vh = max((block_vh - header - 1.0) / rows, 1.0)
    font_vh = row_vh * ROW_FILL * float(block.option("font_scale"))
    return {"type": block.type, "rows": rows, "row_vh": round(row_vh, 3), "font_vh": round(min(font_vh, 9.0), 3),
            "row_px": row_vh / 100.0 * layout.grid.height, "speed": float(block.option("scroll_speed")),
            "queues": list(block.options.get("queues", [])), "rooms": list(block.options.get("rooms", [])),
            "title": block.options.get("title", ""), "text": block.options.get("text", "")}


def grid_style(layout: Layout) -> dict[str, str]:
    g = layout.grid
    return {"gridTemplateColumns": f"repeat({g.columns}, 1fr)", "gridTemplateRows": f"repeat({g.rows}, 1fr)"}


def place(block: Block) -> dict[str, str]:
    return {"gridRow": f"{block.row} / span {block.row_span}", "gridColumn": f"{block.col} / span {block.col_span}"}


def _row(m: dict[str, Any], cells: list[Any], cls: str = "") -> Any:
    style = {"height": f"{m['row_vh']}vh", "fontSize": f"{m['font_vh']}vmin"}
    return html.Div(cells, className=f"hall-row {cls}".strip(), style=style)


def _filter(items: list[dict[str, Any]], m: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in items if not m["queues"] or t["queue_code"] in m["queues"]]


def now_calling(state: dict[str, Any], m: dict[str, Any]) -> Any:
    """One line per room: the room, the ticket called there and the (masked) name."""
    lines = []
    shown = [r for r in state["now_calling"] if not m["rooms"] or r["room_code"] in m["rooms"]]
    # Rooms with a live call first (latest first), so a call is never cut off by the row limit.
    live = sorted((r for r in shown if r["ticket"]), key=lambda r: r["ticket"]["called_at"], reverse=True)
    for room in live + [r for r in shown if not r["ticket"]]:
        t = room["ticket"]
        cells = [html.Span(room["room_name"], className="hall-room"),
                 html.Span(t["code"] if t else "—", className="hall-code"),
                 html.Span(t["name"] if t else "暂无叫号", className="hall-name" if t else "hall-idle")]
        lines.append(_row(m, cells, "hall-calling-live" if t else "hall-calling-idle"))
    return lines[: m["rows"]] or [html.Div("暂无诊室", className="hall-empty")]


def waiting(state: dict[str, Any], m: dict[str, Any]) -> Any:
    """The next patients in queue order, two per line when the block is wide enough to read."""
    items = _filter(state["waiting"], m)
    if not items:
        return [html.Div("当前无候检患者", className="hall-empty")]
    rows = [_row(m, [html.Span(f"{i}", className="hall-seq"), html.Span(t["code"], className="hall-code"),
                     html.Span(t["name"], className="hall-name"), html.Span(t["queue_name"], className="hall-queue")])
            for i, t in enumerate(items[: m["rows"]], 1)]
    if len(items) > m["rows"]:
        rows[-1] = _row(m, [html.Span(f"另有 {len(items) - m['rows'] + 1} 位候检患者", className="hall-more")])
    return rows


def missed(state: dict[str, Any], m: dict[str, Any]) -> Any:
    """Missed patients (过号); when more than fit, the list scrolls upward at the configured speed."""
    items = _filter(state["missed"], m)
    if not items:
        return [html.Div("暂无过号患者", className="hall-empty")]
    rows = [_row(m, [html.Span(t["code"], className="hall-code"), html.Span(t["name"], className="hall-name"),
                     html.Span(t["room_name"], className="hall-queue")], "hall-missed-row") for t in items]
    if len(items) <= m["rows"]:
        return [html.Div(rows, className="hall-track")]
    # The list is shown twice and moved up by one copy's height, so the loop has no visible seam.
    seconds = max(len(items) * m["row_px"] / max(m["speed"], 1.0), 2.0)
    twice = rows + [_row(m, r.children, "hall-missed-row hall-copy") for r in rows]
    return [html.Div(twice, className="hall-track hall-scroll", style={"animationDuration": f"{seconds:.1f}s"},
                     **{"data-seconds": f"{seconds:.1f}"})]


def ticker(state: dict[str, Any], m: dict[str, Any]) -> Any:
    text = m["text"] or state["screen"]["notice"]
    return [html.Div(html.Span(text, className="hall-ticker-text"), className="hall-ticker-track")]


RENDER = {"now_calling": now_calling, "waiting": waiting, "missed": missed, "ticker": ticker}
TITLES = {**BLOCK_TYPES, "missed": "过号患者 · 请到分诊台登记"}


def body(kind: str, state: dict[str, Any], m: dict[str, Any]) -> Any:
    """The children of one block's body for the current state."""
    render = RENDER.get(kind)
    return render(state, m) if render else []
