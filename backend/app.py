"""The Flask application factory: APIs, sign-in pages, Socket.IO and the one Dash instance."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask_bootstrap
from flask import Flask, redirect, request, send_from_directory, session

from backend.api import errors as api_errors
from backend.api.security import check_json_csrf
from backend.config import Settings
from backend.realtime import SocketIONotifier, socketio
from backend.services import screens
from backend.services.base import Services

logger = logging.getLogger(__name__)

BOOTSTRAP_DIR = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5"
# Staff pages: a browser without a session is sent to sign in (APIs answer 401 instead).
PROTECTED_PREFIXES = ("/panels", "/admin", "/cockpit")


def create_app(settings: Settings, services: Services | None = None) -> Flask:
    """Build the web app; starts no scheduler, listener or thread (entrypoints do that)."""
    from backend.bootstrap import build_services

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
    socketio.init_app(app, async_mode="threading", message_queue=settings.redis_url,
                      cors_allowed_origins=None, logger=False, engineio_logger=False)
    if services is None:
        services = build_services(settings, notifier=SocketIONotifier(socketio))
    app.extensions["radops"] = services
    # A wrong hall-screen layout stops the start with "file:line: reason" (QS-2).
    screens.validate_layouts(settings.layouts_dir)

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
    """Every module of backend.api with a `bp` Blueprint, then the sign-in pages."""
    from backend.discovery import import_all
    from backend.web import routes

    for module in import_all("backend.api"):
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
    app.register_blueprint(routes.bp)


def _register_guards(app: Flask) -> None:
    @app.before_request
    def _guard() -> Any:
        check_json_csrf()
        if request.method == "GET" and request.path.startswith(PROTECTED_PREFIXES) and not session.get("user"):
            return redirect(f"/login?next={request.full_path.rstrip('?')}")
        return None


def _init_dash(app: Flask) -> None:
    """Mount the single Dash instance and register every page explicitly (plotly/dash#2398)."""
    import dash

    from dashboards import pages as dashboard_pages
    from kiosk import pages as kiosk_pages
    from panels import pages as panel_pages
    from signage import pages as signage_pages

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
    for module in (panel_pages, dashboard_pages, signage_pages, kiosk_pages):
        module.register_pages()
    dash_app.layout = dash.html.Div([dash.dcc.Location(id="url"), dash.page_container])
    _share_page_callbacks()
    app.extensions["dash"] = dash_app


# Dash moves the callbacks declared with `dash.callback` into the first instance that serves a request;
# a later app in the same process (the tests build one per test) gets them again from this snapshot.
_PAGE_CALLBACKS: dict[str, Any] = {}


def _share_page_callbacks() -> None:
    from dash import _callback

    if not _PAGE_CALLBACKS:
        _PAGE_CALLBACKS.update(list=list(_callback.GLOBAL_CALLBACK_LIST), map=dict(_callback.GLOBAL_CALLBACK_MAP))
    elif not _callback.GLOBAL_CALLBACK_MAP:
        _callback.GLOBAL_CALLBACK_LIST.extend(_PAGE_CALLBACKS["list"])
        _callback.GLOBAL_CALLBACK_MAP.update(_PAGE_CALLBACKS["map"])
