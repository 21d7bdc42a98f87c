"""Every Dash callback is an API (issue 16.1, 14.2): walk every server callback of the app's callback map
and post it to /_dash-update-component anonymously, with a wrong role and with the wrong device; each gets
a 401/403 refusal, no data, and nothing in the database changes. Then one captured kiosk look-up and
check-in, replayed without the device credential, get nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.api.security import DEVICE_COOKIE
from backend.db.models import AuditEntry, ExamEvent, QueueTicket
from backend.services import auth, devices
from backend.web.callback_guard import Access
from tests.conftest import PASSWORDS
from tests.services.kiosk_helpers import exam_for, new_patient

UPDATE = "/_dash-update-component"


def _dep(dep: dict[str, Any], value: Any = None) -> Any:
    """One input/state/output of the request body; a wildcard id (ALL) matches no component here."""
    raw = dep["id"]
    if raw.startswith("{"):
        ident = json.loads(raw)
        if any(v in (["ALL"], ["ALLSMALLER"]) for v in ident.values()):
            return []
        ident = {k: (1 if v == ["MATCH"] else v) for k, v in ident.items()}
        return {"id": ident, "property": dep["property"], "value": value}
    return {"id": raw, "property": dep["property"], "value": value}


def _outputs(key: str) -> Any:
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        prop = prop.split("@", 1)[0]
        outs.append(_dep({"id": ident, "property": prop}))
    return outs if key.startswith("..") else outs[0]


def body_for(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A well-formed callback request as the Dash renderer sends it, its first input changed."""
    inputs = [_dep(d, 1) for d in spec["inputs"]]
    changed = next((f"{d['id']}.{d['property']}" for d in inputs if isinstance(d, dict)), "")
    return {"output": key, "outputs": _outputs(key), "inputs": inputs,
            "state": [_dep(d) for d in spec.get("state", [])], "changedPropIds": [changed]}


def server_callbacks(app: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in app.extensions["dash"].callback_map.items() if v.get("callback") is not None]


def _counts(svc: Any) -> tuple[int, ...]:
    with svc.session_factory() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0) for m in (AuditEntry, ExamEvent,
                                                                                         QueueTicket))


def _wrong_user(access: Access) -> str | None:
    """A demo user lacking the page's permission (None when every role holds it, e.g. exam.read)."""
    if access.perm is None:
        return None
    return next((u for u in ("typist", "clerk", "head", "tech") if access.perm.value not in _PERMS[u]), None)


_PERMS: dict[str, frozenset[str]] = {}


@pytest.fixture
def walk(app: Any, actors: Any) -> list[tuple[str, dict[str, Any], Access]]:
    for name, actor in actors.items():
        _PERMS[name] = actor.perms
    access = app.extensions["dash_access"]
    calls = server_callbacks(app)
    assert len(calls) >= 60  # every page's callbacks are in the map
    missing = [k for k, _ in calls if k not in access]
    assert not missing, f"callbacks with no declared access: {missing}"
    return [(k, v, access[k]) for k, v in calls]


def _refused(resp: Any) -> None:
    assert resp.status_code in (401, 403), resp.get_data(as_text=True)[:200]
    assert set(resp.get_json()) == {"error"}  # no response/multi data of any component


def test_every_callback_refuses_anonymous_callers(app: Any, walk: Any) -> None:
    svc = app.extensions["radops"]
    client = app.test_client()
    before = _counts(svc)
    for key, spec, _access in walk:
        _refused(client.post(UPDATE, json=body_for(key, spec)))
    assert _counts(svc) == before


def test_every_callback_refuses_the_wrong_role_and_the_wrong_device(app: Any, walk: Any) -> None:
    svc = app.extensions["radops"]
    admin = auth.login(svc, "admin", PASSWORDS["admin"])
    screen_key = devices.enrol(svc, "screen", "HALL-MAIN", by=admin)
    kiosk_key = devices.enrol(svc, "kiosk", "K1", by=admin)
    clients: dict[str, Any] = {}
    for username in ("typist", "clerk", "head", "tech"):
        c = app.test_client()
        signed_in = c.post("/api/auth/login", json={"username": username, "password": PASSWORDS[username]})
        assert signed_in.status_code == 200
        clients[username] = c
    before = _counts(svc)
    checked = 0
    for key, spec, access in walk:
        if access.device is not None:
            other = screen_key if access.device == "kiosk" else kiosk_key
            c = app.test_client()
            c.set_cookie(DEVICE_COOKIE, other)
            _refused(c.post(UPDATE, json=body_for(key, spec)))  # a device of the other kind
            _refused(clients["clerk"].post(UPDATE, json=body_for(key, spec)))  # staff without a device
            checked += 1
        elif (user := _wrong_user(access)) is not None:
            _refused(clients[user].post(UPDATE, json=body_for(key, spec)))
            checked += 1
    assert checked >= 50
    assert _counts(svc) == before


def test_the_right_caller_gets_through(app: Any, walk: Any, auth_actions: Any, client: Any) -> None:
    """The guard refuses by credential, not by shape: the exam list's own callback answers a signed-in user."""
    auth_actions.login("clerk")
    key, spec, _ = next(w for w in walk if w[0].startswith("..exams-live.className"))
    body = body_for(key, spec)
    body["inputs"][0]["value"] = True
    resp = client.post(UPDATE, json=body)
    assert resp.status_code == 200
    assert resp.get_json()["response"]["exams-live"]["title"] == "实时更新已连接"


def _kiosk_body(app: Any, trigger: str, *, scan: str = "", found: Any = None) -> dict[str, Any]:
    key, spec = next((k, v) for k, v in server_callbacks(app) if k.startswith("..kiosk-view.children"))
    body = body_for(key, spec)
    for d in body["inputs"]:
        if isinstance(d, dict):
            d["value"] = 1 if d["id"] == trigger else 0
    body["changedPropIds"] = [f"{trigger}.{'n_submit' if trigger == 'kiosk-scan' else 'n_clicks'}"]
    state = {d["id"]: d for d in body["state"]}
    state["kiosk-scan"]["value"] = scan
    state["kiosk-mode"]["value"] = "barcode"
    state["kiosk-found"]["value"] = found
    state["kiosk-terminal"]["value"] = "K1"
    state["kiosk-mrn"]["value"] = ""
    return body


def test_a_captured_kiosk_lookup_and_check_in_replayed_without_the_device_get_nothing(app: Any, actors: Any) -> None:
    svc = app.extensions["radops"]
    p = new_patient(name="欧阳小明")
    exam = exam_for(svc, actors["clerk"], p)
    kiosk = app.test_client()
    kiosk.set_cookie(DEVICE_COOKIE, devices.enrol(svc, "kiosk", "K1", by=actors["admin"]))
    looked = kiosk.post(UPDATE, json=_kiosk_body(app, "kiosk-scan", scan=exam["accession"]))
    assert looked.status_code == 200
    answer = looked.get_json()["response"]
    assert "欧**明" in json.dumps(answer, ensure_ascii=False)
    found = answer["kiosk-found"]["data"]
    # The page keeps no accession, exam id or code: only a sealed token and what the screen shows.
    assert exam["accession"] not in json.dumps(found)
    assert "exam_id" not in json.dumps(found)

    anonymous = app.test_client()
    replay = anonymous.post(UPDATE, json=_kiosk_body(app, "kiosk-scan", scan=exam["accession"]))
    assert replay.status_code == 401
    assert "欧" not in replay.get_data(as_text=True)
    tickets = _counts(svc)[2]
    replay = anonymous.post(UPDATE, json=_kiosk_body(app, "kiosk-checkin", found=found))
    assert replay.status_code == 401
    assert _counts(svc)[2] == tickets  # nobody was checked in

    # A forged "found" record (the accession in clear, as the old page kept it) checks nobody in either.
    forged = {"exams": [{"ok": True}], "masked_name": "x", "method": "barcode", "code": exam["accession"]}
    out = kiosk.post(UPDATE, json=_kiosk_body(app, "kiosk-checkin", found=forged))
    assert out.status_code == 200
    assert "重新扫码" in json.dumps(out.get_json(), ensure_ascii=False)
    assert _counts(svc)[2] == tickets

    done = kiosk.post(UPDATE, json=_kiosk_body(app, "kiosk-checkin", found=found))
    assert "签到成功" in json.dumps(done.get_json(), ensure_ascii=False)
    assert _counts(svc)[2] == tickets + 1


def test_a_kiosk_acts_only_as_the_terminal_it_was_enrolled_for(app: Any, actors: Any) -> None:
    """The terminal comes from the credential: state naming another kiosk changes nothing."""
    svc = app.extensions["radops"]
    p = new_patient(name="司马相如")
    exam = exam_for(svc, actors["clerk"], p)
    k2 = app.test_client()
    k2.set_cookie(DEVICE_COOKIE, devices.enrol(svc, "kiosk", "K2", by=actors["admin"]))
    body = _kiosk_body(app, "kiosk-scan", scan=exam["accession"])  # its state says K1
    out = k2.post(UPDATE, json=body)
    assert out.status_code == 200
    found = out.get_json()["response"]["kiosk-found"]["data"]
    from backend.web.sealed import unseal

    with app.test_request_context():
        assert unseal(found["token"], purpose="kiosk-found", max_age_s=60)["terminal"] == "K2"
