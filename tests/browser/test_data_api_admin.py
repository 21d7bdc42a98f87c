"""The data API admin page in a real browser, after a platform called the API over real HTTP."""

from __future__ import annotations

import httpx

from backend.services.auth import login as sign_in
from tests.browser.conftest import login, screenshot
from tests.data_api_helpers import data_key


def test_admin_sees_each_key_with_its_calls_per_day(page, live_server):
    svc = live_server.services
    admin = sign_in(svc, "admin", "admin123456")
    oa = data_key(svc, admin, ["data.read:exams", "data.read:reports", "data.pii"], name="OA低代码平台")
    data_key(svc, admin, ["data.read:cockpit"], name="大屏系统")
    with httpx.Client(base_url=live_server.base, headers={"X-API-Key": oa}, timeout=10) as http:
        for path, params, status in (("exams", {"limit": 5}, 200), ("reports", {"format": "csv"}, 200),
                                     ("exams", {"colour": "red"}, 400)):
            assert http.get(f"/api/data/v1/{path}", params=params).status_code == status
            live_server.clock.advance(seconds=30)
    login(page, live_server, "admin", next_path="/admin/data-api")
    page.wait_for_selector("#dataapi-rows")
    rows = page.inner_text("#dataapi-rows")
    assert "OA低代码平台" in rows
    assert "大屏系统" in rows
    assert "检查, 报告" in rows
    assert "可见原文" in rows
    first = page.locator("#dataapi-rows tbody tr").first
    cells = first.locator("td").all_inner_texts()
    assert cells[0] == "OA低代码平台"
    assert cells[-3:-1] == ["3", "1"]  # calls in all, failed
    assert "检查" in cells[4]
    assert "400" in cells[4]
    assert page.locator("#dataapi-chart .main-svg").count() > 0
    screenshot(page, "admin-data-api")
    page.select_option("#dataapi-days", "14")
    page.wait_for_function("document.querySelectorAll('#dataapi-rows thead th').length == 22")
    page.click("#admin-nav-api-keys")
    page.wait_for_selector("#apikeys-scopes")
    assert "数据接口：读取检查" in page.inner_text("#apikeys-scopes")
