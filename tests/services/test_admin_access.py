"""Admin upkeep of users, API keys, settings and the audit search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db.models import ApiKey
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.services import auth, settings_store
from backend.services.admin import system as admin_system
from backend.services.admin import users as admin_users
from backend.services.base import transaction


def test_create_user_with_roles_then_login(svc, actors):
    user = admin_users.create_user(svc, username="newtech", password="s3cret-pass", display_name="技师 新人",
                                   roles=["technologist"], department_id=None, by=actors["admin"])
    assert user["roles"] == ["technologist"]
    actor = auth.login(svc, "newtech", "s3cret-pass")
    assert "exam.operate" in actor.perms
    assert "admin" not in actor.perms


def test_duplicate_username_and_bad_roles_are_refused(svc, actors):
    admin = actors["admin"]
    with pytest.raises(Conflict) as exc:
        admin_users.create_user(svc, username="clerk", password="x" * 8, display_name="", roles=["clerk"], by=admin)
    assert exc.value.code == "duplicate_username"
    with pytest.raises(InvalidInput) as exc:
        admin_users.create_user(svc, username="u2", password="x" * 8, display_name="", roles=[], by=admin)
    assert exc.value.code == "invalid_role"
    with pytest.raises(InvalidInput) as exc:
        admin_users.create_user(svc, username="u3", password="x" * 8, display_name="", roles=["clerk"],
                                department_id=99999, by=admin)
    assert exc.value.code == "unknown_department"


def test_edit_roles_deactivate_and_reset_password(svc, actors):
    admin = actors["admin"]
    uid = actors["typist"].id
    out = admin_users.edit_user(svc, uid, roles=["typist", "clerk"], display_name="打字员 孙丽丽", by=admin)
    assert out["roles"] == ["clerk", "typist"]
    assert out["display_name"] == "打字员 孙丽丽"
    admin_users.reset_password(svc, uid, "brand-new-pass", by=admin)
    assert auth.login(svc, "typist", "brand-new-pass").id == uid
    admin_users.set_active(svc, uid, False, by=admin)
    with pytest.raises(Unauthenticated):
        auth.login(svc, "typist", "brand-new-pass")
    assert auth.actor_by_user_id(svc, uid) is None
    with pytest.raises(InvalidInput) as exc:
        admin_users.reset_password(svc, uid, "short", by=admin)
    assert exc.value.code == "weak_password"


def test_admin_cannot_deactivate_self(svc, actors):
    with pytest.raises(InvalidInput) as exc:
        admin_users.set_active(svc, actors["admin"].id, False, by=actors["admin"])
    assert exc.value.code == "self_deactivate"


def test_api_key_is_shown_once_only_its_hash_is_stored_and_revoke_works(svc, actors):
    admin = actors["admin"]
    key = auth.create_api_key(svc, "体检中心", ["exam.read", "exam.register"], by=admin)
    assert key.startswith("rk_")
    _, prefix, secret = key.split("_", 2)
    with transaction(svc, readonly=True) as tx:
        row = tx.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        assert secret not in row.key_hash
        assert len(row.key_hash) == 64
    listed = next(k for k in auth.list_api_keys(svc, by=admin) if k["prefix"] == prefix)
    assert secret not in str(listed)
    assert listed["revoked"] is False
    assert auth.actor_for_api_key(svc, key).perms == frozenset({"exam.read", "exam.register"})
    auth.revoke_api_key(svc, listed["id"], by=admin)
    with pytest.raises(Unauthenticated):
        auth.actor_for_api_key(svc, key)
    assert [e["action"] for e in admin_system.search_audit(svc, by=admin, entity="api_key",
                                                             entity_id=str(listed["id"]))] == ["revoke", "create"]


def test_setting_change_is_validated_stored_and_audited(svc, actors):
    admin = actors["admin"]
    assert admin_system.change_setting(svc, "er.reminder_lead_min", "20", by=admin) == 20
    assert settings_store.get(svc, "er.reminder_lead_min") == 20
    with pytest.raises(InvalidInput) as exc:
        admin_system.change_setting(svc, "er.reminder_lead_min", 100000, by=admin)
    assert exc.value.code == "setting_out_of_range"
    with pytest.raises(NotFound):
        admin_system.change_setting(svc, "no.such.key", 1, by=admin)
    rows = admin_system.search_audit(svc, by=admin, entity="setting", entity_id="er.reminder_lead_min")
    assert rows[0]["details"] == {"old": 10, "new": 20}
    groups = admin_system.settings_by_group(svc, by=admin)
    assert any(s["key"] == "er.reminder_lead_min" and s["value"] == 20 for rows in groups.values() for s in rows)


def test_several_settings_are_read_at_once_stored_or_default(svc, actors):
    admin_system.change_setting(svc, "kiosk.early_window_min", "45", by=actors["admin"])
    with transaction(svc, readonly=True) as tx:
        values = settings_store.get_many_in(tx, "kiosk.early_window_min", "kiosk.late_after_min")
        assert values == {"kiosk.early_window_min": 45,
                          "kiosk.late_after_min": settings_store.get_in(tx, "kiosk.late_after_min")}
        with pytest.raises(NotFound):
            settings_store.get_many_in(tx, "kiosk.early_window_min", "no.such.key")


def test_json_setting_keeps_the_shape_of_its_default(svc, actors):
    admin = actors["admin"]
    targets = settings_store.get(svc, "tat.targets")
    with pytest.raises(InvalidInput) as exc:
        admin_system.change_setting(svc, "tat.targets", {"emergency": {"CT": "fast"}}, by=admin)
    assert exc.value.code == "invalid_setting_shape"
    with pytest.raises(InvalidInput):
        admin_system.change_setting(svc, "tat.targets", [1, 2], by=admin)
    changed = targets | {"emergency": targets["emergency"] | {"CT": 45}}
    assert admin_system.change_setting(svc, "tat.targets", changed, by=admin)["emergency"]["CT"] == 45


def test_audit_search_filters_by_actor_and_date(svc, actors, clock):
    admin = actors["admin"]
    admin_system.change_setting(svc, "cockpit.long_wait_min", 100, by=admin)
    today = clock().astimezone(svc.tz).date()
    mine = admin_system.search_audit(svc, by=admin, actor=admin.label, day_from=today, day_to=today)
    assert mine
    assert all(r["actor"] == admin.label for r in mine)
    assert admin_system.search_audit(svc, by=admin, actor=admin.label, day_to=today.replace(year=2020)) == []


@pytest.mark.parametrize("who", ["clerk", "doctor", "head"])
def test_user_and_key_admin_needs_the_admin_role(svc, actors, who):
    with pytest.raises(Forbidden):
        admin_users.create_user(svc, username="zz", password="x" * 8, display_name="", roles=["clerk"],
                                by=actors[who])
    with pytest.raises(Forbidden):
        auth.create_api_key(svc, "x", ["exam.read"], by=actors[who])
    with pytest.raises(Forbidden):
        admin_system.change_setting(svc, "er.reminder_lead_min", 20, by=actors[who])
