"""Numbering rules: accession numbers and queue ticket codes."""

from __future__ import annotations

from datetime import date


def accession_number(day: date, seq: int) -> str:
    """`RA` + local date + 5-digit sequence of that day, e.g. RA2026112700042."""
    return f"RA{day:%Y%m%d}{seq:05d}"


def accession_counter(day: date) -> str:
    return f"acc:{day:%Y%m%d}"


def ticket_code(prefix: str, number: int) -> str:
    """A queue's prefix and the day's number, at least three digits: CT015."""
    return f"{prefix}{number:03d}"
