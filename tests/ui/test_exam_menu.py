"""The exam list's context-menu registry (LN-4 hook) and the registration form's item grouping."""

from __future__ import annotations

from backend.domain.actor import Actor
from backend.domain.enums import Role
from backend.domain.permissions import ROLE_PERMISSIONS, Perm
from panels import exam_menu, recon_priors
from panels.exam_menu import MenuAction, actions_for, add_action
from panels.register_form import item_options


def _actor(role: Role) -> Actor:
    return Actor(kind="user", id=1, name="x", perms=frozenset(p.value for p in ROLE_PERMISSIONS[role]))


ROW = {"id": 7, "accession": "RA2026112700007", "status": "registered", "report_status": "none",
       "item_code": "CT-LN-TR"}


def test_builtin_actions_follow_role_and_state():
    clerk = [a.id for a in actions_for(_actor(Role.CLERK), ROW)]
    doctor = [a.id for a in actions_for(_actor(Role.RADIOLOGIST), ROW)]
    assert clerk == ["detail", "cancel"]
    assert doctor == ["detail", "recon_priors", "write_report"]
    done = ROW | {"status": "completed"}
    assert [a.id for a in actions_for(_actor(Role.CLERK), done)] == ["detail"]
    assert exam_menu.find("write_report").href(ROW) == "/panels/reports/RA2026112700007"
    # The viewer once the scan has started, for those who read images (not the registration clerk).
    assert [a.id for a in actions_for(_actor(Role.RADIOLOGIST), done)] == ["detail", "recon_priors", "view_images",
                                                                           "write_report"]
    assert exam_menu.find("view_images").href(done) == "/panels/viewer/RA2026112700007"


def test_other_modules_append_actions_with_predicates():
    saved = list(exam_menu.MENU_ACTIONS)
    try:
        add_action(MenuAction("ln_ref", "引用历史图像", Perm.REPORT_WRITE,
                              lambda r: r["item_code"] == "CT-LN-TR" and r["status"] == "registered", order=30))
        add_action(MenuAction("broken", "坏谓词", Perm.EXAM_READ, lambda r: r["missing"] == 1))
        labels = [a.label for a in actions_for(_actor(Role.RADIOLOGIST), ROW)]
        # a failing predicate hides its action
        assert labels == ["查看详情", recon_priors.LABEL, "书写报告", "引用历史图像"]
        other = ROW | {"item_code": "CT-CHEST"}
        assert "引用历史图像" not in [a.label for a in actions_for(_actor(Role.RADIOLOGIST), other)]
        assert recon_priors.LABEL not in [a.label for a in actions_for(_actor(Role.RADIOLOGIST), other)]
        add_action(MenuAction("ln_ref", "引用历史图像（新）", Perm.REPORT_WRITE, order=30))
        assert sum(a.id == "ln_ref" for a in exam_menu.MENU_ACTIONS) == 1
    finally:
        exam_menu.MENU_ACTIONS[:] = saved


def test_reference_priors_is_offered_for_reconstruction_items_to_technologists_and_radiologists():
    """LN-4: 引用历史图像 for CT-LN-TR (RADOPS_RECON_ITEMS) only, to roles holding recon.link."""
    for role in (Role.TECHNOLOGIST, Role.RADIOLOGIST, Role.SENIOR_RADIOLOGIST):
        assert "recon_priors" in [a.id for a in actions_for(_actor(role), ROW)], role
    for role in (Role.CLERK, Role.NURSE, Role.TYPIST):
        assert "recon_priors" not in [a.id for a in actions_for(_actor(role), ROW)], role
    chest = ROW | {"item_code": "CT-CHEST"}
    assert "recon_priors" not in [a.id for a in actions_for(_actor(Role.TECHNOLOGIST), chest)]


def test_item_options_are_grouped_by_modality_and_say_if_a_slot_is_needed():
    items = [{"code": "CT-CHEST", "name": "胸部CT平扫", "modality_label": "CT", "needs_slot": True},
             {"code": "CT-LN-TR", "name": "肺结节CT靶重建及结构化报告", "modality_label": "CT", "needs_slot": False},
             {"code": "DR-CHEST", "name": "胸部正位片", "modality_label": "DR", "needs_slot": False}]
    opts = item_options(items)
    assert [o["value"] for o in opts] == ["__group_CT", "CT-CHEST", "CT-LN-TR", "__group_DR", "DR-CHEST"]
    assert opts[0]["disabled"]
    assert "需预约" in opts[1]["label"]
    assert "无需预约" in opts[2]["label"]


def test_search_box_looks_across_dates_and_filters_keep_the_range():
    from datetime import date

    from panels.exam_list import FILTER_IDS, _filter

    values = dict.fromkeys(FILTER_IDS) | {"exams-date-from": "2026-11-27", "exams-date-to": "2026-11-27",
                                          "exams-item": ["CT-LN-TR"], "exams-campus": ["1"]}
    f = _filter(values, "  ")
    assert (f.date_from, f.date_to, f.q) == (date(2026, 11, 27), date(2026, 11, 27), None)
    assert (f.item_codes, f.campus_ids) == (("CT-LN-TR",), (1,))
    g = _filter(values, " RA2026112000001 ")
    assert (g.date_from, g.date_to, g.q) == (None, None, "RA2026112000001")


def _texts(component: object) -> list[str]:
    """Every string in a Dash component tree."""
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        return [t for c in children for t in _texts(c)]
    return _texts(children) if children is not None else []


def test_a_remote_prior_is_marked_in_the_dialog():
    """LN-4: a prior from the remote archive shows the 远程 badge; a local one does not."""
    series = [{"uid": "1.2.3.1", "number": 2, "modality": "CT", "description": "Lung 1mm", "images": 40,
               "slice_thickness": 1.0, "kernel": "", "thumbnail": None}]
    prior = {"study_uid": "1.2.3", "accession": "A1", "date": "2025-06-01", "item": "CT Chest", "modality": "CT",
             "series_count": 1, "image_count": 40, "chest_ct": True, "default_series": "1.2.3.1",
             "series": series, "source": "remote", "archive": "ARCHIVE2"}
    assert "远程" in _texts(recon_priors._prior_card(prior, None))
    assert "远程" not in _texts(recon_priors._prior_card(prior | {"source": "local"}, None))
