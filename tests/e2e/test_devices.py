"""Kiosk and hall-screen device credentials (issue 14.2): issued by an admin, listed with their last use,
revoked at once; the kiosk API takes the terminal's device key; a rate limit per terminal."""

from __future__ import annotations

from typing import Any

from backend.api.security import DEVICE_COOKIE
from tests.conftest import PASSWORDS
from tests.services.kiosk_helpers import exam_for, new_patient


def _admin(app: Any) -> Any:
    c = app.test_client()
    c.post("/api/auth/login", json={"username": "admin", "password": PASSWORDS["admin"]})
    return c


def test_admin_issues_lists_and_revokes_a_kiosk_credential(app: Any, actors: Any, clock: Any) -> None:
    svc = app.extensions["radops"]
    admin = _admin(app)
    r = admin.post("/api/admin/devices", json={"kind": "kiosk", "target": "K1"})
    assert r.status_code == 201
    key = r.get_json()["key"]
    assert admin.post("/api/admin/devices", json={"kind": "kiosk", "target": "K99"}).status_code == 404
    p = new_patient()
    exam = exam_for(svc, actors["clerk"], p)
    kiosk = app.test_client()
    body = {"method": "barcode", "code": exam["accession"]}
    assert kiosk.post("/api/kiosk/K1/lookup", json=body).status_code == 401
    looked = kiosk.post("/api/kiosk/K1/lookup", json=body, headers={"X-Device-Key": key})
    assert looked.status_code == 200
    # The credential is K1's: it cannot act as K2.
    other = kiosk.post("/api/kiosk/K2/lookup", json=body, headers={"X-Device-Key": key})
    assert other.get_json()["error"]["code"] == "wrong_terminal_key"
    listed = admin.get("/api/admin/devices").get_json()["devices"]
    row = next(d for d in listed if d["target"] == "K1")
    assert row["last_used_at"] is not None
    assert not row["revoked"]
    assert admin.post(f"/api/admin/devices/{row['id']}/revoke", json={}).status_code == 200
    gone = kiosk.post("/api/kiosk/K1/lookup", json=body, headers={"X-Device-Key": key})
    assert gone.status_code == 401
    assert app.test_client().post("/api/admin/devices", json={"kind": "kiosk", "target": "K1"}).status_code == 401


def test_a_revoked_device_cookie_shows_the_enrolment_page(app: Any, actors: Any) -> None:
    from backend.services import devices

    svc = app.extensions["radops"]
    key = devices.enrol(svc, "screen", "HALL-MAIN", by=actors["admin"])
    screen = app.test_client()
    screen.set_cookie(DEVICE_COOKIE, key)
    with app.test_request_context("/screens/HALL-MAIN", headers={"Cookie": f"{DEVICE_COOKIE}={key}"}):
        from signage import hall_screen

        assert "hall-grid" in str(hall_screen.layout(screen_id="HALL-MAIN"))
    device_id = devices.list_devices(svc, by=actors["admin"])[0]["id"]
    devices.revoke(svc, device_id, by=actors["admin"])
    with app.test_request_context("/screens/HALL-MAIN", headers={"Cookie": f"{DEVICE_COOKIE}={key}"}):
        page = str(hall_screen.layout(screen_id="HALL-MAIN"))
    assert "device-not-enrolled" in page
    assert "hall-grid" not in page


def test_an_admin_enrols_the_browser_on_the_device(app: Any) -> None:
    import re

    admin = _admin(app)
    page = admin.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = admin.post("/devices/enrol", data={"kind": "kiosk", "target": "K3", "next": "/kiosk/K3", "csrf_token": token})
    assert r.status_code == 302
    assert r.headers["Location"] == "/kiosk/K3"
    cookie = admin.get_cookie(DEVICE_COOKIE)
    assert cookie is not None
    assert cookie.http_only
    clerk = app.test_client()
    clerk.post("/api/auth/login", json={"username": "clerk", "password": PASSWORDS["clerk"]})
    page = clerk.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    refused = clerk.post("/devices/enrol", data={"kind": "kiosk", "target": "K3", "csrf_token": token})
    assert refused.status_code == 403
    assert clerk.get_cookie(DEVICE_COOKIE) is None


def test_kiosk_rate_limit_per_terminal(app: Any, actors: Any) -> None:
    from backend.services import devices

    svc = app.extensions["radops"]
    admin = _admin(app)
    assert admin.put("/api/admin/settings/kiosk.rate_per_min", json={"value": 5}).status_code == 200
    svc.cache.clear()
    k1 = devices.enrol(svc, "kiosk", "K1", by=actors["admin"])
    k2 = devices.enrol(svc, "kiosk", "K2", by=actors["admin"])
    body = {"method": "mrn", "code": "NOPE"}
    codes = [app.test_client().post("/api/kiosk/K1/lookup", json=body, headers={"X-Device-Key": k1}).status_code
             for _ in range(7)]
    assert codes == [404] * 5 + [429] * 2
    limited = app.test_client().post("/api/kiosk/K1/lookup", json=body, headers={"X-Device-Key": k1})
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["error"]["code"] == "kiosk_rate_limited"
    # Another terminal has its own budget.
    assert app.test_client().post("/api/kiosk/K2/lookup", json=body, headers={"X-Device-Key": k2}).status_code == 404
