"""Ultrasound pages: admin shift pages, the shift choice, the calling list and the triage desk render for
the right people and refuse the others; the shift form reports a bad typist weight beside the form."""

from __future__ import annotations

from backend.services import settings_store
from panels import shift, triage, us_room
from panels.admin import shifts as admin_shifts
from panels.admin.crud import act
from tests.ui.test_admin_pages import ids, signed_in, text


def test_admin_shift_pages_render_and_refuse_others(app, actors):
    for layout in (admin_shifts.groups_layout, admin_shifts.shifts_layout):
        with signed_in(app, actors["admin"]):
            found = ids(layout())
        assert {"admin-nav", "admin-nav-shifts", "admin-nav-shift-groups"} <= found
        with signed_in(app, actors["nurse"]):
            assert "shell-refusal" in ids(layout())


def test_shift_form_reports_a_bad_weight(app, actors):
    spec = admin_shifts.SHIFT_SPEC
    with signed_in(app, actors["admin"]):
        groups = {g["label"]: g["value"] for g in admin_shifts._group_options(app.extensions["radops"])}
        raw = ["新班次", groups["上午班"], 1, None, "am", [], 10, 1.5, None, None]
        msg = act(spec, "shifts-save", None, raw, None)[0]
    assert "invalid_typist_weight" in text(msg)
    with signed_in(app, actors["admin"]):
        late = act(spec, "shifts-save", None, ["新班次", groups["上午班"], 1, None, "am", [], 10, 0.5, "8点", None],
                   None)[0]
    assert "开始时间格式" in text(late)


def test_shift_page_for_sonographers_and_calling_list_prompt(app, actors):
    with signed_in(app, actors["sono"]):
        found = ids(shift.layout())
        assert {"shift-group", "shift-shift", "shift-room", "shift-typist", "shift-start", "shift-none"} <= found
        # US-7 as a setting (issue 15 item 11): by default the other pages wait for the shift choice
        assert {"shell-shift-gate", "shell-choose-shift"} <= ids(us_room.layout())
    settings_store.put(app.extensions["radops"], "us.shift_required", False, by=actors["admin"])
    with signed_in(app, actors["sono"]):
        assert "usroom-no-shift" in ids(us_room.layout())  # soft: the page opens and points to the shift page


def test_triage_page_for_nurses_only(app, actors):
    with signed_in(app, actors["nurse"]):
        assert {"triage-ticket", "triage-target", "triage-assign", "triage-socket"} <= ids(triage.layout())
    with signed_in(app, actors["tech"]):
        assert "shell-refusal" in ids(triage.layout())
