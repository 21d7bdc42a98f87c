"""Reports and critical values (filled in by the reporting work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
