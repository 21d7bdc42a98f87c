"""screens: hall screens as data (layout file, campus, queues, voice, masking)

Revision ID: 0006_screens
Revises: 0001_core
Create Date: 2026-11-27 23:05:24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0006_screens"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(length=64), nullable=False),
        sa.Column("queue_codes", sa.JSON(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("voice_enabled", sa.Boolean(), nullable=False),
        sa.Column("voice_repeat", sa.Integer(), nullable=False),
        sa.Column("masking", sa.Boolean(), nullable=True),
        sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campus_id"], ["campuses.id"], name=op.f("fk_screens_campus_id_campuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screens")),
        sa.UniqueConstraint("code", name=op.f("uq_screens_code")),
    )
    with op.batch_alter_table("screens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screens_campus_id"), ["campus_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screens_campus_id"))
    op.drop_table("screens")
