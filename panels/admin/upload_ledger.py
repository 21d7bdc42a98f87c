"""Page parts shared by the two upload ledgers (the provincial health cloud's and the cadre-health system's):
the counts per state as badges, and a row's file progress as a bar with "n/N 个文件"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html


def state_counts(items: Sequence[tuple[str, int, str]], id_: str) -> Any:
    """One badge per state: (label, count, Bootstrap colour), "light" badges in dark text."""
    return html.Div([dbc.Badge(f"{label} {n}", color=color, text_color="dark" if color == "light" else None,
                               className="me-2") for label, n, color in items], id=id_, className="mb-2")


def progress(done: int, total: int, *, running: bool, failed: bool = False) -> Any:
    """The files sent of a row: a bar (moving while it runs, red when a file failed) and "n/N 个文件"."""
    if not total:
        return html.Span("—", className="text-muted")
    bar = dbc.Progress(value=round(100 * done / total), striped=running, animated=running,
                       color="danger" if failed else "success", style={"minWidth": "7rem", "height": "6px"},
                       className="ledger-progress")
    return html.Div([bar, html.Small(f"{done}/{total} 个文件", className="text-muted")])
