"""Sign-in form (CSRF-protected), sign-out and the start page that sends each role to its panel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request, session

from backend.api.auth import start_session
from backend.api.security import check_csrf_form, client_ip, csrf_token, services
from backend.domain.errors import DomainError
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
        actor = auth.login(services(), request.form.get("username", ""), request.form.get("password", ""),
                           ip=client_ip())
    except DomainError as exc:
        return render_template("login.html", error=exc.message, next=nxt, csrf_token=csrf_token(),
                               hospital=services().settings.hospital_name,
                               username=request.form.get("username", "")), 401
    start_session(actor)
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
    session.clear()
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
