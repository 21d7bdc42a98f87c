"""Admin APIs (filled in by the admin work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)
