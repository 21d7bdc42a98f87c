"""scale-out: component heartbeats read by /api/health

Revision ID: 0011_scale
Revises: 0010_outbox
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0011_scale"
down_revision: str | Sequence[str] | None = "0010_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "component_beats",
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("beat_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_ok_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=False),
        sa.Column("last_error_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("component", "instance", name=op.f("pk_component_beats")),
    )


def downgrade() -> None:
    op.drop_table("component_beats")
