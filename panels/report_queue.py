"""A staff page that lists one report queue (to write, to review), re-read every 30 seconds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dash
from dash import Input, Output, dcc, html

from backend.domain.actor import Actor
from backend.domain.permissions import Perm
from backend.web.context import page_actor
from panels.report_widgets import exam_table
from panels.shell import staff_page

Column = tuple[str, Callable[[Mapping[str, Any]], Any]]


def queue_page(*, key: str, path: str, perm: Perm, title: str, hint: str,
               load: Callable[[Actor], list[dict[str, Any]]], columns: list[Column], count: str,
               empty: str) -> tuple[Callable[..., Any], Callable[[dash.Dash], None]]:
    """Build the page's layout and the binder of its refresh callback; ids start with `key` (`review-table`).

    `count` is the line above the table, with `{n}` for the number of exams.
    """

    def table(actor: Actor) -> Any:
        items = load(actor)
        return html.Div([html.Div(count.format(n=len(items)), className="small text-muted mb-2", id=f"{key}-count"),
                         exam_table(items, columns, table_id=f"{key}-table", empty=empty)])

    def body(actor: Actor) -> Any:
        return html.Div([
            html.Div([html.H4(title, className="mb-0 me-3"), html.Span(hint, className="small text-muted")],
                     className="d-flex align-items-baseline mb-3"),
            html.Div(table(actor), id=f"{key}-list"),
            dcc.Interval(id=f"{key}-refresh", interval=30_000),
        ])

    def layout(**_query: Any) -> Any:
        return staff_page(perm, path, body)

    def _refresh(_n: Any) -> Any:
        actor = page_actor()
        return table(actor) if actor is not None and actor.can(perm) else dash.no_update

    def bind(app: dash.Dash) -> None:
        app.callback(Output(f"{key}-list", "children"), Input(f"{key}-refresh", "n_intervals"),
                     prevent_initial_call=True)(_refresh)

    return layout, bind
