"""The password policy (issue 16.3): length, not a common password, not the username."""

from __future__ import annotations

import pytest

from backend.domain.passwords import password_problem
from backend.seed import DEMO_LOGINS


@pytest.mark.parametrize(("password", "username", "why"), [
    ("short7!", "clerk", "至少"),
    ("12345678", "clerk", "常见"),
    ("Password", "clerk", "常见"),
    ("aaaaaaaaaaaa", "clerk", "常见"),
    ("wangjianguo", "wangjianguo", "用户名"),
    ("wangjianguo-2026", "wangjianguo", "用户名"),
    ("x" * 129, "clerk", "不超过"),
])
def test_refused(password: str, username: str, why: str) -> None:
    assert why in (password_problem(password, username=username) or "")


@pytest.mark.parametrize("password", ["Lung-RADS-4x", "夜班CT第3台机房", "correct horse battery"])
def test_accepted(password: str) -> None:
    assert password_problem(password, username="doctor") is None


def test_every_demo_password_is_refused_outside_the_seed() -> None:
    for username, password, _ in DEMO_LOGINS:
        assert password_problem(password, username=username) is not None
