"""The data API admin page: keys with their datasets, last call and calls per day; refused to other roles."""

from __future__ import annotations

from backend.services.data_api import access
from panels.admin import data_api as page
from panels.admin import nav
from tests.data_api_helpers import key_actor
from tests.ui.test_admin_pages import ids, signed_in, text


def test_the_page_lists_data_keys_with_their_calls(app, actors, clock):
    svc = app.extensions["radops"]
    key = key_actor(svc, actors["admin"], ["data.read:exams", "data.read:cockpit"], name="OA低代码")
    for status in (200, 200, 400):
        access.record_call(svc, key, "exams", status=status, rows=5)
    with signed_in(app, actors["admin"]):
        tree = page.layout()
    found = ids(tree)
    assert {"dataapi-rows", "dataapi-chart", "admin-nav-data-api"} <= found
    words = text(tree)
    assert "OA低代码" in words
    assert "检查, 驾驶舱指标" in words
    assert "脱敏" in words
    assert (page.PATH, "数据接口") in nav.ADMIN_NAV


def test_no_key_yet_says_where_to_make_one(app, actors):
    with signed_in(app, actors["admin"]):
        tree = page.content(7)
    assert "dataapi-empty" in ids(tree)
    assert "API 密钥" in text(tree)


def test_other_roles_are_refused(app, actors):
    with signed_in(app, actors["head"]):
        tree = page.layout()
    assert "shell-refusal" in ids(tree)
    assert "dataapi-rows" not in ids(tree)
