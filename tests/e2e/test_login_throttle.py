"""Login throttling (issue 16.3): wrong passwords back off per account and per address with 429 and
Retry-After, audited; the right password is refused too while the account waits; spraying many users
from one address is stopped as well."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from backend.db.models import AuditEntry
from tests.conftest import PASSWORDS


def _login(c: Any, username: str, password: str, ip: str = "10.0.0.7") -> Any:
    return c.post("/api/auth/login", json={"username": username, "password": password},
                  environ_base={"REMOTE_ADDR": ip})


def _audited(svc: Any, action: str) -> int:
    with svc.session_factory() as s:
        return len(s.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_wrong_passwords_back_off_per_account_then_429_with_retry_after(app: Any, client: Any) -> None:
    svc = app.extensions["radops"]
    answers = [_login(client, "doctor", f"guess-{i}").status_code for i in range(8)]
    assert answers[:5] == [401] * 5
    assert answers[5:] == [429] * 3
    r = _login(client, "doctor", PASSWORDS["doctor"])
    assert r.status_code == 429  # the right password waits too: guessing gains nothing
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.get_json()["error"]["code"] == "login_throttled"
    assert _audited(svc, "login_throttled") == 4
    # Another account from another address is not held up by this one.
    assert _login(client, "clerk", PASSWORDS["clerk"], ip="10.0.0.8").status_code == 200


def test_spraying_many_accounts_from_one_address_is_stopped(app: Any, client: Any) -> None:
    users = list(PASSWORDS)
    codes = [_login(client, users[i % len(users)], "Spring2026!", ip="10.9.9.9").status_code for i in range(27)]
    assert codes[:20] == [401] * 20
    assert set(codes[20:]) == {429}
    assert _login(client, "nurse", PASSWORDS["nurse"], ip="10.9.9.9").status_code == 429
    assert _login(client, "nurse", PASSWORDS["nurse"], ip="10.9.9.10").status_code == 200


def test_the_sign_in_form_is_throttled_too(client: Any) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    for _ in range(5):
        wrong = client.post("/login", data={"username": "senior", "password": "x", "csrf_token": token})
        assert wrong.status_code == 401
    r = client.post("/login", data={"username": "senior", "password": PASSWORDS["senior"], "csrf_token": token})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "秒后再试" in r.get_data(as_text=True)
