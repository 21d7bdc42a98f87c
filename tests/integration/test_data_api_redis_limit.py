"""The data API's per-key rate limit is counted in Redis when REDIS_URL is set, so two web processes share
it. Runs only where TEST_REDIS_URL is set; the apps run in a child process (Socket.IO's server is
process-global and would keep the Redis queue for the other tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set: no Redis for the shared rate limit"),
]

# Two app instances (two web processes' worth) on one database and one Redis; one key, a limit of 3 a minute.
SCRIPT = """
import json, sys
from backend.app import create_app
from backend.config import Settings
from backend.services import auth, settings_store
settings = Settings(database_url=sys.argv[1], redis_url=sys.argv[2], secret_key="t", testing=True,
                    start_scheduler=False)
first, second = create_app(settings), create_app(settings)
svc = first.extensions["radops"]
admin = auth.login(svc, "admin", "admin123456")
settings_store.put(svc, "data_api.rate_per_minute", 3, by=admin)
key = auth.create_api_key(svc, "shared", ["data.read:exams"], by=admin)
codes = []
for app in (first, first, second, second):
    resp = app.test_client().get("/api/data/v1/exams", headers={"X-API-Key": key})
    codes.append([resp.status_code, resp.headers.get("Retry-After")])
storage = type(first.extensions["data_api_limiter"].storage).__name__
print(json.dumps({"codes": codes, "storage": storage}))
"""


def test_two_app_processes_share_one_limit_in_redis(fresh_db_url):
    out = subprocess.run([sys.executable, "-c", SCRIPT, fresh_db_url, REDIS_URL], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["storage"] == "RedisStorage"
    assert [c for c, _ in result["codes"]] == [200, 200, 200, 429]
    assert int(result["codes"][-1][1]) > 0
