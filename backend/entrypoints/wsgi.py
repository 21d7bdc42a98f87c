"""WSGI factory for gunicorn at scale: `gunicorn -w 1 --threads 100 'backend.entrypoints.wsgi:make_app()'`."""

from __future__ import annotations

import os

from flask import Flask

from backend.app import create_app
from backend.config import ensure_secret, load_settings
from backend.entrypoints.heap import freeze_startup_heap


def make_app() -> Flask:
    app = create_app(ensure_secret(load_settings(os.environ)))
    freeze_startup_heap()
    return app
