"""The Flask application factory: APIs, sign-in pages, Socket.IO and the one Dash instance."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import flask_bootstrap
from flask import Flask, Response, redirect, request, send_from_directory, session
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from backend import log_privacy
from backend.api import errors as api_errors
from backend.api import throttle
from backend.api.security import check_json_csrf, check_password_change
from backend.config import Settings
from backend.domain.text_input import check_int
from backend.realtime import SocketIONotifier, async_mode, queue_channel, socketio
from backend.services.base import Services
from backend.services.patient_flow import screens

logger = logging.getLogger(__name__)

BOOTSTRAP_DIR = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5"
# Staff pages: a browser without a session is sent to sign in (APIs answer 401 instead).
PROTECTED_PREFIXES = ("/panels", "/admin", "/cockpit")
# Paths that answer JSON only (never the Dash page): the API and DICOMweb (issue 10).
API_PREFIXES = ("/api/", "/dicomweb/")


def create_app(settings: Settings, services: Services | None = None) -> Flask:
    """Build the web app; starts no scheduler, listener or thread (entrypoints do that)."""
    from backend.bootstrap import build_services
    from backend.entrypoints.background import expected_components

    log_privacy.install()  # request lines are logged without query strings (names, ID numbers)
    app = Flask(__name__, static_folder=str(Path(__file__).parent / "web" / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=_secret(settings),
        SESSION_COOKIE_NAME="radops_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # A sign-in lasts one 12-hour shift from login; the cookie is not re-signed on every request.
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    socketio.init_app(app, async_mode=async_mode(), message_queue=settings.redis_url,
                      channel=queue_channel(settings.redis_url), cors_allowed_origins=None, logger=False,
                      engineio_logger=False)
    if services is None:
        services = build_services(settings, notifier=SocketIONotifier(socketio))
    app.extensions["radops"] = services
    app.extensions["radops_expected"] = expected_components()  # what /api/health waits to hear from
    # A wrong hall-screen layout stops the start with "file:line: reason" (QS-2).
    screens.validate_layouts(settings.layouts_dir)

    throttle.init_app(app, settings.redis_url)  # sign-in failures and kiosk look-ups (issues 16.3, 14.2)
    _register_blueprints(app)
    api_errors.register_error_handlers(app)
    _register_guards(app)

    @app.get("/static/vendor/<path:filename>")
    def vendor(filename: str) -> Any:
        return send_from_directory(BOOTSTRAP_DIR, filename, max_age=86400)

    _init_dash(app)
    return app


def _secret(settings: Settings) -> str:
    """The session signing key; a production app without one would accept forged sessions."""
    if settings.secret_key:
        return settings.secret_key
    if settings.testing:
        return "testing-only-secret"
    raise RuntimeError("RADOPS_SECRET_KEY is not set (entrypoints create one under var/ with ensure_secret)")


def _register_blueprints(app: Flask) -> None:
    """The JSON APIs, one blueprint per area, then the sign-in pages: this list is all there is."""
    from backend.api import (
        admin,
        admin_access,
        auth,
        cockpit,
        data_api,
        dicomweb,
        exams,
        health,
        kiosk,
        openapi,
        orders,
        reports,
        rooms,
        ultrasound,
    )
    from backend.web import routes

    for bp in (admin.bp, admin_access.bp, auth.bp, cockpit.bp, exams.bp, health.bp, kiosk.bp, openapi.bp,
               orders.bp, reports.bp, rooms.bp, ultrasound.bp, routes.bp, data_api.bp, dicomweb.bp):
        app.register_blueprint(bp)
    from backend.api import devices  # enrolled kiosks and screens, sessions (issues 14.2, 16.2)

    app.register_blueprint(devices.bp)
    from backend.api import lung_rads  # lung-nodule categories (issue 11, LN-9)

    app.register_blueprint(lung_rads.bp)
    from backend.api import cadre_uploads  # the cadre-health upload ledger (CD-1)

    app.register_blueprint(cadre_uploads.bp)
    from backend.api import health_cloud  # the provincial health cloud's ledger (issue 12)

    app.register_blueprint(health_cloud.bp)


def _register_guards(app: Flask) -> None:
    @app.before_request
    def _guard() -> Any:
        if (answer := _route_api(app)) is not None:
            return answer
        check_json_csrf()
        if (answer := check_password_change()) is not None:
            return answer
        if request.method == "GET" and request.path.startswith(PROTECTED_PREFIXES) and not session.get("user"):
            return redirect(f"/login?next={request.full_path.rstrip('?')}")
        return None


def _api_methods(app: Flask, path: str) -> set[str]:
    """The methods the API's own routes serve at `path` (Dash's catch-all route left out)."""
    if "api_map" not in app.extensions:
        app.extensions["api_map"] = Map(
            [Rule(r.rule, methods=r.methods, endpoint=r.endpoint) for r in app.url_map.iter_rules()
             if r.rule.startswith(API_PREFIXES)], converters=app.url_map.converters)
    return set(app.extensions["api_map"].bind("localhost").allowed_methods(path))


def _route_api(app: Flask) -> Any:
    """/api answers JSON only: an unknown path is a JSON 404 (or a 405 naming the API's methods), never the
    Dash page that the catch-all route answers with 200; OPTIONS names only the API's methods; an id in
    the path beyond what the database stores is a 400."""
    if not request.path.startswith(API_PREFIXES):
        return None
    rule = request.url_rule
    if request.method == "OPTIONS" or rule is None or not rule.rule.startswith(API_PREFIXES):
        methods = _api_methods(app, request.path)
        if not methods:
            raise NotFound()
        if request.method != "OPTIONS":
            raise MethodNotAllowed(valid_methods=sorted(methods))
        return Response(status=200, headers={"Allow": ", ".join(sorted(methods))})
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int):
            check_int(value, field=name)
    return None


def _page_modules() -> tuple[ModuleType, ...]:
    """Every Dash page (and the shared popup), in menu order; each module has `register(dash_app)`."""
    from dashboards import cockpit
    from kiosk import checkin, ticket_slip
    from panels import attachments as exam_attachments
    from panels import (
        critical_values,
        er_overdue,
        er_popup,
        exam_list,
        interface_monitor,
        recon_priors,  # the exam list's 引用历史图像 dialog (LN-4..LN-7)
        register,
        report_editor,
        report_review,
        report_worklist,
        room_desk,
        shift,
        triage,
        unmatched_studies,
        us_room,
        viewer,
    )
    from panels.admin import (
        api_keys,
        audit,
        data_api,
        devices,  # enrolled kiosks and hall screens (issue 14.2)
        dicom_nodes,
        items,
        queues,
        rooms,
        screens,
        settings,
        shifts,
        slots,
        users,
    )
    from panels.admin import cadre_uploads as admin_cadre_uploads
    from panels.admin import er_duty as admin_er_duty
    from panels.admin import health_cloud as admin_health_cloud
    from signage import hall_screen

    return (exam_list, register, report_worklist, report_review, report_editor, critical_values, er_popup,
            room_desk, shift, us_room, triage, cockpit, hall_screen, checkin, ticket_slip,
            users, api_keys, items, rooms, queues, slots, screens, shifts, settings, audit, data_api, devices,
            interface_monitor, dicom_nodes, unmatched_studies, viewer, er_overdue, admin_er_duty, recon_priors,
            admin_cadre_uploads, admin_health_cloud, exam_attachments)


def _init_dash(app: Flask) -> None:
    """Mount the single Dash instance and register every page explicitly (plotly/dash#2398).

    Each page binds its callbacks with `dash_app.callback` inside its `register`, never with the global
    `dash.callback`, so every app built in one process (the tests build many) has all of its own.
    """
    import dash

    # Dash's stubs type `server` and `update_title` narrower than its documented use.
    dash_app = dash.Dash(
        __name__,
        server=app,  # type: ignore[arg-type]
        use_pages=True,
        pages_folder="",
        assets_folder=str(Path(__file__).resolve().parent.parent / "assets"),
        url_base_pathname="/",
        serve_locally=True,
        suppress_callback_exceptions=True,
        title="RadOps 放射科工作流",
        update_title=None,  # type: ignore[arg-type]
        external_stylesheets=["/static/vendor/css/bootstrap.min.css", "/static/radops.css"],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    from backend.web import callback_guard

    # Every callback is filed under its page's declared access and checked before it runs (issue 16.1).
    access: dict[str, callback_guard.Access] = {}
    for module in _page_modules():
        module.register(callback_guard.PageBinder(dash_app, callback_guard.access_of(module), access))
    callback_guard.install(app, access)
    app.extensions["dash_access"] = access
    dash_app.layout = dash.html.Div([dash.dcc.Location(id="url"), dash.page_container])
    app.extensions["dash"] = dash_app
