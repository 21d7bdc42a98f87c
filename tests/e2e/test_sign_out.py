"""Signing out through the pages: a POST with the form token; /logout typed in the address bar asks first."""

from __future__ import annotations

import re

from tests.conftest import PASSWORDS


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form_login(client, username):
    token = _token(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": username, "password": PASSWORDS[username], "csrf_token": token})
    assert r.status_code == 302
    return r


def _signed_in(client) -> bool:
    return client.get("/api/auth/me").status_code == 200


def test_get_logout_only_asks_and_keeps_the_session(client):
    _form_login(client, "clerk")
    page = client.get("/logout")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "确认退出" in html
    assert "返回工作页面" in html
    assert "王芳" in html
    assert _signed_in(client)


def test_post_without_the_form_token_is_refused_with_the_page_again(client):
    _form_login(client, "clerk")
    r = client.post("/logout", data={})
    assert r.status_code == 403
    assert "页面已过期" in r.get_data(as_text=True)
    assert _signed_in(client)  # a cross-site form cannot sign staff out
    r = client.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert _signed_in(client)


def test_post_with_the_token_signs_out_and_lands_on_login(client):
    _form_login(client, "clerk")
    token = _token(client.get("/logout").get_data(as_text=True))
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/login")
    assert not _signed_in(client)
    assert client.get("/logout").headers["Location"].endswith("/login")  # nothing to confirm any more


def test_sign_in_and_sign_out_pages_load_their_stylesheets(client):
    pages = [client.get("/login").get_data(as_text=True)]
    _form_login(client, "clerk")
    pages.append(client.get("/logout").get_data(as_text=True))
    for html in pages:
        sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
        assert len(sheets) == 2  # Bootstrap (from the installed package) and ours
        for href in sheets:
            r = client.get(href)
            assert r.status_code == 200, href
            assert r.mimetype == "text/css"
