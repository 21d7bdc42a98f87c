"""Registers the signage pages on the one Dash instance."""

from __future__ import annotations


def register_pages() -> None:
    """Register every page of this package (called once by backend.app)."""
