"""Server-side sessions (issue 16.2): a copied session cookie stops working at logout, at an admin's password
reset, at deactivation, at "sign out everywhere", at the owner's password change and after the idle timeout."""

from __future__ import annotations

from typing import Any

from backend.services import settings_store
from tests.conftest import PASSWORDS


def _signed_in(app: Any, username: str = "clerk") -> Any:
    c = app.test_client()
    assert c.post("/api/auth/login", json={"username": username, "password": PASSWORDS[username]}).status_code == 200
    return c


def _copy(app: Any, c: Any) -> Any:
    """Another browser holding a copy of the same session cookie."""
    thief = app.test_client()
    thief.set_cookie("radops_session", c.get_cookie("radops_session").value)
    return thief


def _user_id(c: Any) -> int:
    return int(c.get("/api/auth/me").get_json()["user"]["id"])


def test_a_copied_cookie_dies_at_logout(app: Any) -> None:
    c = _signed_in(app)
    thief = _copy(app, c)
    assert thief.get("/api/auth/me").status_code == 200
    assert c.post("/api/auth/logout", json={}).status_code == 200
    assert thief.get("/api/auth/me").status_code == 401
    assert thief.get("/panels/register").status_code == 302  # pages send it to sign in


def test_a_copied_cookie_dies_when_an_admin_resets_the_password_or_deactivates(app: Any) -> None:
    admin = _signed_in(app, "admin")
    c = _signed_in(app)
    uid = _user_id(c)
    thief = _copy(app, c)
    r = admin.post(f"/api/admin/users/{uid}/password", json={"password": "Ward-7-night-shift"})
    assert r.status_code == 200
    assert thief.get("/api/auth/me").status_code == 401
    assert c.get("/api/auth/me").status_code == 401
    nurse = _signed_in(app, "nurse")
    assert admin.post(f"/api/admin/users/{_user_id(nurse)}/active", json={"active": False}).status_code == 200
    assert nurse.get("/api/auth/me").status_code == 401


def test_admin_signs_a_user_out_everywhere(app: Any) -> None:
    admin = _signed_in(app, "admin")
    one, two = _signed_in(app, "tech"), _signed_in(app, "tech")
    uid = _user_id(one)
    assert len(admin.get(f"/api/admin/users/{uid}/sessions").get_json()["sessions"]) == 2
    r = admin.post(f"/api/admin/users/{uid}/sign-out", json={})
    assert r.get_json()["ended"] == 2
    assert one.get("/api/auth/me").status_code == 401
    assert two.get("/api/auth/me").status_code == 401
    assert admin.get("/api/auth/me").status_code == 200
    assert _signed_in(app, "clerk").post(f"/api/admin/users/{uid}/sign-out", json={}).status_code == 403


def test_changing_ones_password_ends_the_other_sessions_only(app: Any) -> None:
    here, elsewhere = _signed_in(app, "doctor"), _signed_in(app, "doctor")
    r = here.post("/api/auth/password", json={"old_password": PASSWORDS["doctor"], "new_password": "doctor"})
    assert r.status_code == 400  # the policy: not the username
    r = here.post("/api/auth/password", json={"old_password": "wrong", "new_password": "Lung-RADS-4x"})
    assert r.status_code == 401
    r = here.post("/api/auth/password", json={"old_password": PASSWORDS["doctor"], "new_password": "Lung-RADS-4x"})
    assert r.status_code == 200
    assert here.get("/api/auth/me").status_code == 200
    assert elsewhere.get("/api/auth/me").status_code == 401


def test_idle_timeout_ends_a_session_left_alone(app: Any, clock: Any) -> None:
    svc = app.extensions["radops"]
    admin = _signed_in(app, "admin")
    assert admin.put("/api/admin/settings/auth.idle_timeout_min", json={"value": 15}).status_code == 200
    assert settings_store.get(svc, "auth.idle_timeout_min") == 15
    c = _signed_in(app)
    clock.advance(minutes=10)
    assert c.get("/api/auth/me").status_code == 200  # activity: the idle time starts again
    clock.advance(minutes=14)
    svc.cache.clear()  # another process, or this one after the cache lifetime
    assert c.get("/api/auth/me").status_code == 200
    clock.advance(minutes=16)
    svc.cache.clear()
    assert c.get("/api/auth/me").status_code == 401


def test_timers_and_live_events_are_not_activity(app: Any) -> None:
    with app.test_request_context("/_dash-update-component", method="POST",
                                  json={"changedPropIds": ["exams-resync.n_intervals"]}):
        from backend.api.security import user_activity

        assert not user_activity()
    with app.test_request_context("/_dash-update-component", method="POST",
                                  json={"changedPropIds": ["exams-search.n_clicks"]}):
        assert user_activity()


def test_outside_the_demo_demo_passwords_must_be_changed_first(app: Any, settings: Any, session_factory: Any,
                                                                clock: Any, ports: Any) -> None:
    from backend.app import create_app
    from backend.bootstrap import build_services
    from backend.realtime import SocketIONotifier, socketio

    demo = _signed_in(app, "clerk")
    assert demo.get("/api/exams").status_code == 200  # the demo (and `make run`) keeps its passwords
    production = settings.with_(demo=False)
    prod = create_app(production, services=build_services(production, clock=clock, session_factory=session_factory,
                                                          notifier=SocketIONotifier(socketio), ports=ports))
    c = prod.test_client()
    r = c.post("/login", data={"username": "clerk", "password": PASSWORDS["clerk"],
                               "csrf_token": _form_token(c)})
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/account/password")
    assert c.get("/panels/register").headers["Location"].endswith("/account/password")
    assert c.get("/api/exams").get_json()["error"]["code"] == "password_change_required"
    r = c.post("/account/password", data={"old_password": PASSWORDS["clerk"], "new_password": "Front-desk-88",
                                          "new_password2": "Front-desk-88", "csrf_token": _form_token(c)})
    assert r.status_code == 302
    assert c.get("/api/exams").status_code == 200


def _form_token(c: Any) -> str:
    import re

    page = c.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
