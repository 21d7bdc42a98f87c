"""The exam list (检查列表) panel: search and browse exams (expanded by the exam-list work)."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from backend.domain.permissions import Perm
from panels.shell import staff_page

PATH = "/panels/exams"


def layout(**_query: Any) -> Any:
    return staff_page(Perm.EXAM_READ, PATH, lambda actor: html.H3("检查列表", id="exams-title"))


def register() -> None:
    dash.register_page(__name__, path=PATH, title="检查列表 - RadOps", name="检查列表", layout=layout)
