"""Admin panels in a real browser: create a user who then signs in, change a setting, generate slots."""

from __future__ import annotations

from datetime import date

from backend.services import settings_store
from tests.browser.conftest import login, pick_option, screenshot


def _pick(page, selector, text):
    pick_option(page, selector, text)


def _field(prefix: str, key: str) -> str:
    return f'[id=\'{{"key":"{key}","type":"{prefix}-field"}}\']'


def test_admin_creates_a_user_who_can_then_log_in(page, live_server, browser):
    login(page, live_server, "admin", next_path="/admin/users")
    page.wait_for_selector("#users-rows")
    page.fill(_field("users", "username"), "newclerk")
    page.fill(_field("users", "display_name"), "登记员 新同事")
    page.fill(_field("users", "password"), "short")
    page.get_by_label("登记员").check()
    page.click("#users-save")
    page.wait_for_selector("#users-error")
    assert "密码至少 8 位" in page.inner_text("#users-msg")
    assert page.input_value(_field("users", "username")) == "newclerk"  # the input is kept after a refusal
    screenshot(page, "admin-users-error")
    page.fill(_field("users", "password"), "Front-desk-2026")
    page.click("#users-save")
    page.wait_for_selector("#users-ok")
    assert "newclerk" in page.inner_text("#users-rows")
    screenshot(page, "admin-users")

    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
    other.goto(f"{live_server.base}/login")
    other.fill("#username", "newclerk")
    other.fill("#password", "Front-desk-2026")
    other.click("#login-submit")
    other.wait_for_selector("#shell-user")
    assert "登记员 新同事" in other.inner_text("#shell-user")
    other.goto(f"{live_server.base}/admin/users")
    other.wait_for_selector("#shell-refusal")
    other.context.close()


def test_admin_changes_a_setting_and_it_is_stored(page, live_server):
    login(page, live_server, "admin", next_path="/admin/settings")
    field = '[id=\'{"key":"er.reminder_lead_min","type":"settings-input"}\']'
    save = '[id=\'{"key":"er.reminder_lead_min","type":"settings-save"}\']'
    page.wait_for_selector(field)
    page.fill(field, "20")
    page.click(save)
    page.wait_for_selector("#settings-ok-er-reminder_lead_min")
    assert settings_store.get(live_server.services, "er.reminder_lead_min") == 20
    when = '[id=\'{"key":"er.reminder_lead_min","type":"settings-when"}\']'
    page.wait_for_function(f"document.querySelector({when!r}).innerText.startsWith('上次修改')")
    assert "UTC" not in page.inner_text(when)  # the row says so at once, in site time
    ct = '[id=\'{"cls":"emergency","key":"tat.targets","mod":"CT","type":"settings-tat"}\']'
    page.fill(ct, "45")
    page.click('[id=\'{"key":"tat.targets","type":"settings-save"}\']')
    page.wait_for_selector("#settings-ok-tat-targets")
    assert settings_store.get(live_server.services, "tat.targets")["emergency"]["CT"] == 45
    screenshot(page, "admin-settings")
    page.reload()
    page.wait_for_selector(field)
    assert page.input_value(field) == "20"


def test_admin_generates_slots_for_a_queue_and_sees_them(page, live_server):
    login(page, live_server, "admin", next_path="/admin/slots")
    page.wait_for_selector("#slots-queue")
    _pick(page, "#slots-queue", "DR摄片")
    page.fill("#slots-from", "2026-11-30")
    page.fill("#slots-to", "2026-12-04")
    page.fill("#slots-capacity", "8")
    page.click("#slots-generate")
    page.wait_for_selector("#slots-gen-ok")
    assert "新增 40 个号源" in page.inner_text("#slots-gen-ok")
    page.wait_for_selector("#slots-table")
    assert page.inner_text("#slots-table").count("0/8") == 40
    page.click("#slots-generate")
    page.wait_for_function("document.querySelector('#slots-gen-ok').innerText.includes('已存在 40 个')")
    page.locator("#slots-table button").first.click()
    page.wait_for_function("document.querySelector('#slots-picked').innerText.includes('容量 8')")
    page.fill("#slots-new-capacity", "12")
    page.click("#slots-save")
    page.wait_for_selector("#slots-edit-ok")
    assert "0/12" in page.inner_text("#slots-table")
    screenshot(page, "admin-slots")
    assert date(2026, 11, 30).weekday() == 0


def test_admin_catalog_pages_and_audit(page, live_server):
    login(page, live_server, "admin", next_path="/admin/queues")
    page.wait_for_selector("#queues-rows")
    page.fill(_field("queues", "code"), "CT-NIGHT")
    page.fill(_field("queues", "name"), "CT夜间")
    page.fill(_field("queues", "prefix"), "ct1")
    page.click("#queues-save")
    page.wait_for_selector("#queues-error")
    assert "叫号前缀" in page.inner_text("#queues-error")
    screenshot(page, "admin-queues-error")
    assert page.input_value(_field("queues", "code")) == "CT-NIGHT"
    page.fill(_field("queues", "prefix"), "CN")
    _pick(page, _field("queues", "campus_id"), "本部")
    _pick(page, _field("queues", "modality"), "CT")
    page.click("#queues-save")
    page.wait_for_selector("#queues-ok")
    assert "CT夜间" in page.inner_text("#queues-rows")
    for path, ready in [("/admin/items", "#items-rows"), ("/admin/rooms", "#rooms-rows"),
                        ("/admin/api-keys", "#apikeys-rows"), ("/admin/audit", "#audit-rows")]:
        page.goto(f"{live_server.base}{path}")
        page.wait_for_selector(ready)
        screenshot(page, "admin-" + path.rsplit("/", 1)[-1])
    page.select_option("#audit-entity", "queue")
    page.click("#audit-search")
    page.wait_for_function("document.querySelector('#audit-rows').innerText.includes('新建')")
    assert "队列" in page.inner_text("#audit-rows")
    screenshot(page, "admin-audit-queue")


def test_admin_creates_an_api_key_shown_once_then_revokes_it(page, live_server):
    login(page, live_server, "admin", next_path="/admin/api-keys")
    page.wait_for_selector("#apikeys-rows")
    page.fill("#apikeys-name", "低代码平台")
    page.get_by_label("查看检查（exam.read）").check()
    page.click("#apikeys-create")
    page.wait_for_selector("#apikeys-key")
    key = page.inner_text("#apikeys-key")
    assert key.startswith("rk_")
    screenshot(page, "admin-api-keys-created")
    page.reload()
    page.wait_for_selector("#apikeys-rows")
    assert key not in page.content()
    _pick(page, "#apikeys-select", "低代码")
    page.once("dialog", lambda d: d.accept())  # the confirmation of a destructive action
    page.click("#apikeys-revoke")
    page.wait_for_selector("#apikeys-revoke-ok")
    assert "已吊销" in page.inner_text("#apikeys-rows")
