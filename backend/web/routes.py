"""Sign-in form (CSRF-protected), sign-out and the start page that sends each role to its panel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request, session

from backend.api.auth import end_session, start_session, throttled_login
from backend.api.security import PASSWORD_PAGE, check_csrf_form, csrf_token, services
from backend.domain.errors import DomainError, TooManyRequests
from backend.services import auth
from backend.services.patient_flow import shift_sessions

bp = Blueprint("web", __name__, template_folder="templates")

SHIFT_PAGE = "/panels/shift"  # ultrasound staff choose their shift before any other panel (US-7)
# Where each role lands after sign-in; the first matching role wins.
HOME_BY_ROLE = [
    ("admin", "/panels/exams"),
    ("department_head", "/cockpit"),
    ("senior_radiologist", "/panels/exams"),
    ("radiologist", "/panels/exams"),
    ("typist", "/panels/exams"),
    ("technologist", "/panels/exams"),
    ("nurse", "/panels/exams"),
    ("clerk", "/panels/register"),
]


def home_for(roles: list[str]) -> str:
    for role, path in HOME_BY_ROLE:
        if role in roles:
            return path
    return "/panels/exams"


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/login")
def login_form() -> Any:
    return render_template("login.html", error=None, next=request.args.get("next", ""),
                           csrf_token=csrf_token(), hospital=services().settings.hospital_name)


@bp.post("/login")
def login_submit() -> Any:
    nxt = request.form.get("next", "")
    try:
        check_csrf_form()
        actor = throttled_login(request.form.get("username", ""), request.form.get("password", ""))
    except DomainError as exc:
        page = render_template("login.html", error=exc.message, next=nxt, csrf_token=csrf_token(),
                               hospital=services().settings.hospital_name, username=request.form.get("username", ""))
        if isinstance(exc, TooManyRequests):
            return page, 429, {"Retry-After": str(exc.retry_after)}
        return page, 401
    start_session(actor)
    if session.get("must_change"):
        return redirect(PASSWORD_PAGE)
    if shift_sessions.needs_choice(services(), actor):
        return redirect(SHIFT_PAGE)
    return redirect(_safe_next(nxt) or home_for(sorted(actor.roles)))


@bp.get("/logout")
def logout_form() -> Any:
    """A typed or bookmarked /logout asks first: signing out changes state, so it is a POST with the form token."""
    if not session.get("user"):
        return redirect("/login")
    return _logout_page(error=None)


def _logout_page(*, error: str | None) -> Any:
    who = auth.actor_by_user_id(services(), int(session["user"]["id"]))
    shift = shift_sessions.current_session(services(), by=who) if who is not None and who.kind == "user" else None
    return render_template("logout.html", csrf_token=csrf_token(), hospital=services().settings.hospital_name,
                           name=session["user"].get("name", ""), error=error, shift=shift)


@bp.post("/logout")
def logout() -> Any:
    user = session.get("user")
    if user:
        try:
            check_csrf_form()  # another site cannot sign our staff out
        except DomainError as exc:
            return _logout_page(error=exc.message), 403
        who = auth.actor_by_user_id(services(), int(user["id"]))
        if who is not None and request.form.get("end_shift", "1") != "0":
            # Sign-out asks whether the shift ends (issue 15 item 9); kept, it ends at its window's end.
            shift_sessions.close_session(services(), by=who, reason="logout")
    end_session()
    return redirect("/login")


@bp.get("/")
def index() -> Any:
    user = session.get("user")
    if not user:
        return redirect("/login")
    who = auth.actor_by_user_id(services(), int(user["id"]))
    if who is not None and shift_sessions.needs_choice(services(), who):
        return redirect(SHIFT_PAGE)
    return redirect(home_for(user.get("roles", [])))


@bp.get(PASSWORD_PAGE)
def password_form() -> Any:
    if not session.get("user"):
        return redirect(f"/login?next={PASSWORD_PAGE}")
    return _password_page(error=None)


def _password_page(*, error: str | None, done: bool = False) -> Any:
    return render_template("password.html", csrf_token=csrf_token(), hospital=services().settings.hospital_name,
                           name=session["user"].get("name", ""), error=error, done=done,
                           forced=bool(session.get("must_change")))


@bp.post(PASSWORD_PAGE)
def password_submit() -> Any:
    """Change one's own password (form); every other session of the user ends."""
    from backend.api.security import session_actor

    try:
        check_csrf_form()
        who = session_actor()
        if who is None:
            return redirect(f"/login?next={PASSWORD_PAGE}")
        if request.form.get("new_password", "") != request.form.get("new_password2", ""):
            return _password_page(error="两次输入的新密码不一致"), 400
        auth.change_own_password(services(), who, old=request.form.get("old_password", ""),
                                 new=request.form.get("new_password", ""), keep_session=session.get("sid"))
    except DomainError as exc:
        return _password_page(error=exc.message), exc.status
    forced = bool(session.pop("must_change", None))
    if forced:
        return redirect(home_for(session["user"].get("roles", [])))
    return _password_page(error=None, done=True)


# Five years: a device is enrolled once and stays so until an admin revokes it.
DEVICE_COOKIE_AGE = 5 * 365 * 24 * 3600


@bp.post("/devices/enrol")
def enrol_device() -> Any:
    """An admin signed in on a kiosk or hall screen enrols this browser as that device (a device cookie)."""
    from backend.api.security import DEVICE_COOKIE, session_actor
    from backend.services import devices

    kind, target = request.form.get("kind", ""), request.form.get("target", "")
    try:
        check_csrf_form()
        who = session_actor()
        if who is None:
            return redirect("/login")
        raw = devices.enrol(services(), kind, target, by=who)
    except DomainError as exc:
        return exc.message, exc.status
    response = redirect(_safe_next(request.form.get("next")) or "/")
    response.set_cookie(DEVICE_COOKIE, raw, max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
                        secure=services().settings.session_cookie_secure)
    return response


@bp.get("/fonts/<name>")
def font_file(name: str) -> Any:
    """The rare-character fallback fonts of every page (radops.css), from the server's own Debian packages."""
    from flask import abort, send_file

    from backend.services.reporting.fonts import HANAZONO

    path = next((p for p in HANAZONO if p.name == name and p.is_file()), None)
    if path is None:
        abort(404)
    return send_file(path, mimetype="font/ttf", max_age=30 * 86400)
