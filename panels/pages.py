"""Registers the panels pages on the one Dash instance: every module here with a `register()`."""

from __future__ import annotations

from backend.discovery import import_all


def register_pages() -> None:
    """Call `register()` of each page module of this package (once, from backend.app)."""
    for module in import_all("panels"):
        register = getattr(module, "register", None)
        if callable(register) and module.__name__ != "panels.pages":
            register()
