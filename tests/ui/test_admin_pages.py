"""Admin pages: layout functions render for an admin, refuse others; callbacks keep errors beside the form."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import pytest
from flask import session

from backend.services import sessions
from panels.admin import api_keys as admin_api_keys
from panels.admin import audit as admin_audit
from panels.admin import items as admin_items
from panels.admin import nav as admin_nav
from panels.admin import queues as admin_queues
from panels.admin import rooms as admin_rooms
from panels.admin import settings as admin_settings
from panels.admin import slots as admin_slots
from panels.admin import users as admin_users
from panels.admin.crud import act, fill


def walk(node: Any) -> list[Any]:
    """Every component of a Dash layout tree."""
    out = [node]
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            out += walk(child)
    return out


def ids(node: Any) -> set[str]:
    return {str(c.id) for c in walk(node) if getattr(c, "id", None) is not None}


def text(node: Any) -> str:
    parts = []
    for c in walk(node):
        ch = getattr(c, "children", None)
        if isinstance(ch, str | int):
            parts.append(str(ch))
    return " ".join(parts)


@contextmanager
def signed_in(app, actor):
    with app.test_request_context("/admin/users"):
        session["user"] = {"id": actor.id, "name": actor.name, "roles": sorted(actor.roles)}
        session["sid"] = sessions.start(app.extensions["radops"], actor)  # a real server-side session
        yield


PAGES = [admin_users, admin_api_keys, admin_items, admin_rooms, admin_queues, admin_slots, admin_settings,
         admin_audit]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.PATH)
def test_each_admin_page_renders_with_the_sub_navigation(app, actors, page):
    with signed_in(app, actors["admin"]):
        tree = page.layout()
    found = ids(tree)
    assert "admin-nav" in found
    assert "admin-title" in found
    assert {f"admin-nav-{p.rsplit('/', 1)[-1]}" for p, _ in admin_nav.ADMIN_NAV} <= found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.PATH)
def test_admin_pages_refuse_other_roles(app, actors, page):
    with signed_in(app, actors["clerk"]):
        tree = page.layout()
    assert "shell-refusal" in ids(tree)
    assert "admin-nav" not in ids(tree)


def test_other_areas_can_append_to_the_admin_navigation():
    before = list(admin_nav.ADMIN_NAV)
    try:
        admin_nav.add_admin_link("/admin/kiosks", "自助机")
        admin_nav.add_admin_link("/admin/kiosks", "自助机")
        assert admin_nav.ADMIN_NAV[-1] == ("/admin/kiosks", "自助机")
        assert len(admin_nav.ADMIN_NAV) == len(before) + 1
    finally:
        admin_nav.ADMIN_NAV[:] = before


def test_settings_page_groups_with_chinese_labels_and_json_editor(app, actors):
    with signed_in(app, actors["admin"]):
        tree = admin_settings.layout()
    shown = text(tree)
    assert "急诊提醒" in shown
    assert "急诊报告超时提醒提前量（分钟）" in shown
    editors = [c for c in walk(tree) if isinstance(getattr(c, "id", None), dict)
               and c.id.get("key") == "tat.targets" and c.id["type"] == "settings-input"]
    assert editors  # the form's value, kept as JSON for the save button
    assert '"emergency"' in editors[0].value


def test_settings_save_reports_bad_json_and_range_in_chinese(app, actors):
    with signed_in(app, actors["admin"]):
        bad_json, _ = admin_settings.save("tat.targets", '{"emergency": ')
        out_of_range, _ = admin_settings.save("er.reminder_lead_min", 999)
        ok, when = admin_settings.save("er.reminder_lead_min", 20)
    assert "JSON 格式错误" in text(bad_json)
    assert "malformed_json" in text(bad_json)
    assert "setting_out_of_range" in text(out_of_range)
    assert "已保存：20" in text(ok)
    assert when.startswith("上次修改：")
    assert "UTC" not in when


def test_turnaround_targets_are_a_form_per_patient_class_and_modality(app, actors):
    with signed_in(app, actors["admin"]):
        tree = admin_settings.layout()
    cells = [c for c in walk(tree) if isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "settings-tat"]
    assert {(c.id["cls"], c.id["mod"]) for c in cells} >= {("emergency", "CT"), ("outpatient", "US")}
    assert next(c for c in cells if c.id["cls"] == "emergency" and c.id["mod"] == "CT").value == 60
    collected = admin_settings.tat_collect([45, "30"], [{"cls": "emergency", "mod": "CT"},
                                                         {"cls": "emergency", "mod": "US"}])
    assert collected == '{"emergency": {"CT": 45, "US": 30}}'
    assert "患者类别" in text(tree)


def test_crud_form_refusal_keeps_input_and_shows_code(app, actors):
    spec = admin_queues.SPEC
    raw = ["Q-UI", "界面队列", "toolong", 1, "CT", []]
    with signed_in(app, actors["admin"]):
        msg, table, options, selected = act(spec, "queues-save", None, raw, None)
    assert "invalid_prefix" in text(msg)
    assert "1-4 位大写英文字母" in text(msg)
    # Only the message changes on refusal: the inputs (not outputs of this callback) keep what was typed.
    assert {type(v).__name__ for v in (table, options, selected)} == {"NoUpdate"}


def test_crud_fill_then_deactivate_after_confirm(app, actors):
    spec = admin_rooms.SPEC
    with signed_in(app, actors["admin"]):
        room = next(r for r in spec.rows(None or _svc(app), actors["admin"]) if r["code"] == "US8")
        values, disabled, toggle, *_ = fill(spec, room["id"])
        assert values[0] == "US8"
        assert disabled[0] is True
        assert toggle == "停用"
        msg, *_ = act(spec, "rooms-confirm", room["id"], values, {"action": "deactivate", "id": room["id"]})
        assert "已停用检查室" in text(msg)
        assert fill(spec, room["id"])[2] == "启用"


def test_users_reset_needs_a_selected_user(app, actors):
    with signed_in(app, actors["admin"]):
        assert "no_user_selected" in text(admin_users.reset(None, "whatever-pass"))
        assert "weak_password" in text(admin_users.reset(actors["clerk"].id, "short"))
        assert "密码已重置" in text(admin_users.reset(actors["clerk"].id, "long-enough-1"))


def test_api_key_page_shows_the_key_once(app, actors):
    with signed_in(app, actors["admin"]):
        shown, table, _options = admin_api_keys.create("PACS 网关", ["exam.read"])
        key = next(c.children for c in walk(shown) if getattr(c, "id", None) == "apikeys-key")
        assert key.startswith("rk_")
        assert key not in str(table.to_plotly_json())
        assert "缺少" not in text(shown)
        again = admin_api_keys.body(actors["admin"])
    assert key not in str(again.to_plotly_json())


def test_slot_grid_generate_and_refuse_capacity_below_booked(app, actors):
    from tests.helpers import first_slot, register

    svc = _svc(app)
    q = next(q["id"] for q in admin_queues.SPEC.rows(svc, actors["admin"]) if q["code"] == "DR")
    with signed_in(app, actors["admin"]):
        msg, grid = admin_slots.generate(q, "2026-12-01", "2026-12-02", [8, 9], [0, 1, 2, 3, 4, 5, 6], 6, 60)
        assert "新增 4 个号源" in text(msg)
        assert "1/6" not in text(grid)
        assert "0/6" in text(grid)
        slot = first_slot(svc, actors["clerk"], "CT-CHEST")
        register(svc, actors["clerk"], "CT-CHEST", slot_id=slot["id"])
        msg, _ = admin_slots.edit("slots-save", slot["id"], 0, (q, "2026-12-01", "2026-12-01"))
        assert "invalid_capacity" in text(msg)
        msg, _ = admin_slots.edit("slots-deactivate", slot["id"], None, (q, "2026-12-01", "2026-12-01"))
        assert "slot_has_bookings" in text(msg)


def test_audit_page_filters(app, actors):
    with signed_in(app, actors["admin"]):
        admin_settings.save("cockpit.long_wait_min", 95)
        table = admin_audit.search("setting", "cockpit.long_wait_min", None, None, None)
        bad = admin_audit.search(None, None, None, "2026-13-45", None)
    assert "运行参数" in text(table)
    assert "修改" in text(table)
    assert "invalid_date" in text(bad)


def _svc(app):
    return app.extensions["radops"]
