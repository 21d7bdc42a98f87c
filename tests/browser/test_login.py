"""Staff sign in through the real form; a wrong password is refused in Chinese; staff pages need a login."""

from __future__ import annotations

from tests.browser.conftest import login, screenshot


def test_login_lands_on_the_role_home_and_logout(page, live_server):
    page.goto(f"{live_server.base}/panels/exams")
    assert "/login" in page.url
    login(page, live_server, "clerk", next_path="/panels/exams")
    assert page.url.endswith("/panels/exams")
    page.wait_for_selector("#shell-user")
    assert "王芳" in page.inner_text("#shell-user")
    screenshot(page, "login-clerk-home")
    page.click("#shell-logout")
    page.wait_for_url("**/login")


def test_wrong_password_is_refused(page, live_server):
    page.goto(f"{live_server.base}/login")
    page.fill("#username", "clerk")
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    assert "用户名或密码错误" in page.inner_text("#login-error")


def test_a_typed_logout_address_asks_first(page, live_server):
    login(page, live_server, "nurse", next_path="/panels/exams")
    page.goto(f"{live_server.base}/logout")
    page.wait_for_selector("#logout-submit")
    assert "退出登录" in page.inner_text("h1")
    screenshot(page, "logout-confirm")
    page.click("#logout-cancel")  # back to work: still signed in
    page.wait_for_selector("#shell-user")
    page.goto(f"{live_server.base}/logout")
    page.click("#logout-submit")
    page.wait_for_url("**/login")
    page.goto(f"{live_server.base}/panels/exams")
    assert "/login" in page.url
