"""The command line answers bad input with one Chinese line and exit status 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.bootstrap import build_services
from backend.config import load_settings
from backend.domain.permissions import SCOPES
from backend.services import auth

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RADOPS_") and k != "DATABASE_URL"}
    environ.update(RADOPS_VAR_DIR=str(tmp_path), RADOPS_LOG_LEVEL="WARNING", **env)
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    assert run(path, "migrate").returncode == 0
    return path


@pytest.mark.parametrize(("args", "env", "says"), [
    (("create-api-key", "x", "--scopes", "*"), {}, "权限范围无效"),
    (("create-api-key", "x", "--scopes", "exam.read", "bogus"), {}, "权限范围无效：bogus"),
    (("create-user", "bob", "--roles", "nosuch", "--password", "Long-enough-9"), {}, "角色无效"),
    (("seed", "--scale", "nope"), {}, "参数错误"),
    (("no-such-command",), {}, "参数错误"),
    (("migrate",), {"RADOPS_PORT": "abc"}, "RADOPS_PORT 必须是整数"),
])
def test_bad_input_is_one_chinese_line_and_status_2(var, args, env, says):
    result = run(var, *args, **env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert says in lines[0]


def test_scopes_all_creates_a_key_with_every_scope(var):
    result = run(var, "create-api-key", "lowcode", "--scopes", "all")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    svc = build_services(load_settings({"RADOPS_VAR_DIR": str(var)}))
    assert auth.actor_for_api_key(svc, key).perms == SCOPES
