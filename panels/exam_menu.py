"""The exam list's row context menu (右键菜单): a registry of actions other modules append to.

An action either opens a URL (a template formatted with the row, e.g. "/panels/reports/{accession}")
or names a callback: the exam list then writes {"action", "exam_id", "accession", "ts"} into the
store `exams-menu-invoked`, and the module that owns the action reacts to it in its own callback
(its dialog goes into the page through `MENU_COMPONENTS`). LN-4 adds "引用历史图像" this way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.domain.actor import Actor
from backend.domain.exam_flow import EDITABLE, ExamStatus
from backend.domain.permissions import Perm

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MenuAction:
    """One context-menu entry; shown when the actor holds `perm` and `when(row)` is true."""

    id: str
    label: str
    perm: Perm
    when: Callable[[Row], bool] = lambda row: True
    url: str | None = None  # str.format template over the row dict; else the action is a callback
    order: int = 100
    danger: bool = False

    def href(self, row: Row) -> str | None:
        return self.url.format(**row) if self.url else None


def _editable(row: Row) -> bool:
    try:
        return ExamStatus(row.get("status", "")) in EDITABLE
    except ValueError:
        return False


def _reportable(row: Row) -> bool:
    return row.get("status") not in {ExamStatus.CANCELLED.value, ExamStatus.ORDERED.value}


def _imaged(row: Row) -> bool:
    """Images exist from the scan on: the viewer is offered once the exam has been started."""
    return row.get("status") in {ExamStatus.IN_PROGRESS.value, ExamStatus.COMPLETED.value,
                                 ExamStatus.DISCONTINUED.value}


# Append with `MENU_ACTIONS.append(MenuAction(...))` from your module (ids are unique).
MENU_ACTIONS: list[MenuAction] = [
    MenuAction("detail", "查看详情", Perm.EXAM_READ, order=10),
    MenuAction("view_images", "查看影像", Perm.IMAGE_READ, _imaged, url="/panels/viewer/{accession}", order=15),
    MenuAction("write_report", "书写报告", Perm.REPORT_WRITE, _reportable, url="/panels/reports/{accession}",
               order=20),
    MenuAction("cancel", "取消检查", Perm.EXAM_REGISTER, _editable, order=90, danger=True),
]
# Factories of extra components (dialogs, stores) that callback actions need on the exam list page.
MENU_COMPONENTS: list[Callable[[], Any]] = []


def add_action(action: MenuAction) -> None:
    """Register an action once (a second registration with the same id replaces the first)."""
    MENU_ACTIONS[:] = [a for a in MENU_ACTIONS if a.id != action.id]
    MENU_ACTIONS.append(action)


def actions_for(actor: Actor, row: Row) -> list[MenuAction]:
    """The actions `actor` may use on this row, in menu order."""
    out = []
    for action in sorted(MENU_ACTIONS, key=lambda a: (a.order, a.id)):
        if not actor.can(action.perm):
            continue
        try:
            if action.when(row):
                out.append(action)
        except (KeyError, TypeError, ValueError):
            continue
    return out


def find(action_id: str) -> MenuAction | None:
    return next((a for a in MENU_ACTIONS if a.id == action_id), None)
