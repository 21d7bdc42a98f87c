"""Merge the area migrations that were written side by side on top of the core tables.

Revision ID: 0009_merge_areas
Revises: 0002_reporting, 0003_indexes, 0004_hl7_intake, 0005_kiosk_queue, 0006_screens, 0007_cockpit,
    0008_ultrasound
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009_merge_areas"
down_revision: str | Sequence[str] | None = (
    "0002_reporting",
    "0003_indexes",
    "0004_hl7_intake",
    "0005_kiosk_queue",
    "0006_screens",
    "0007_cockpit",
    "0008_ultrasound",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches touch different tables."""


def downgrade() -> None:
    """Nothing to change."""
