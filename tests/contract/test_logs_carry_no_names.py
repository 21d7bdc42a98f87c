"""Logs carry no names or ID numbers: a walk through the APIs a demo day uses, with every log line kept,
then a grep of that log for each patient's name, ID-card number and MRN."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.contract.conftest import ApiServer

PATIENTS = [  # name, ID-card number, MRN: distinctive enough that a match is a leak, not chance
    ("王建国", "110101199001011234", "LG0000001"),
    ("欧阳明华", "44010619850505432X", "LG0000002"),
    ("𠀀𠀁测试", "310104197712120018", "LG0000003"),
]


@pytest.fixture
def full_log() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, as production writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_demo_walk_logs_no_name_or_id_number(api_server: ApiServer, full_log: io.StringIO) -> None:
    key = {"X-API-Key": api_server.api_key}
    with httpx.Client(base_url=api_server.base, headers=key, timeout=30) as c:
        for name, id_card, mrn in PATIENTS:
            r = c.post("/api/exams", json={"item_code": "DR-CHEST", "patient_class": "emergency",
                                           "patient": {"mrn": mrn, "name": name, "sex": "M", "id_card": id_card}})
            assert r.status_code == 201, r.text
            for params in ({"name": name}, {"q": name}, {"mrn": mrn}, {"q": id_card}):
                assert c.get("/api/exams", params=params).status_code == 200
            for method, code in (("mrn", mrn), ("evoucher", f"EV:{id_card}")):
                c.post("/api/kiosk/K1/lookup", json={"method": method, "code": code})
            c.get(f"/api/kiosk/K1/lookup?method=mrn&code={mrn}")  # an old client: 405, and still not logged
        c.post("/api/auth/login", json={"username": "王建国", "password": "wrong-password"})
    log = full_log.getvalue()
    assert "GET /api/exams?" in log  # the walk was logged at all
    for name, id_card, mrn in PATIENTS:
        for secret in (name, id_card, mrn):
            assert secret not in log, f"the log carries {secret!r}"
