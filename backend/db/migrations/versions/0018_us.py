"""ultrasound shifts end and emergency duty: shift windows, session end and pause times, the ER duty roster

Revision ID: 0018_us
Revises: 0016_interfaces
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0018_us"
down_revision: str | Sequence[str] | None = "0016_interfaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shifts") as batch:
        batch.add_column(sa.Column("start_time", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("end_time", sa.String(length=5), nullable=True))
    with op.batch_alter_table("shift_sessions") as batch:
        batch.add_column(sa.Column("ends_at", backend.db.base.TZDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_at", backend.db.base.TZDateTime(timezone=True), nullable=True))
    op.create_table(
        "er_duties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("modality_code", sa.String(length=8), nullable=True),
        sa.Column("weekdays", sa.String(length=16), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_er_duties_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_er_duties")),
    )
    op.create_index(op.f("ix_er_duties_user_id"), "er_duties", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_er_duties_user_id"), table_name="er_duties")
    op.drop_table("er_duties")
    with op.batch_alter_table("shift_sessions") as batch:
        batch.drop_column("paused_at")
        batch.drop_column("ends_at")
    with op.batch_alter_table("shifts") as batch:
        batch.drop_column("end_time")
        batch.drop_column("start_time")
