"""kiosk and queue: self check-in terminals; queue_tickets.line_at (tie-break after sort_at)

Revision ID: 0005_kiosk_queue
Revises: 0001_core
Create Date: 2026-11-27 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db.base import TZDateTime

revision: str = "0005_kiosk_queue"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kiosk_terminals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("queue_codes", sa.JSON(), nullable=False),
        sa.Column("display_profile", sa.String(length=16), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], name=op.f("fk_kiosk_terminals_api_key_id_api_keys")),
        sa.ForeignKeyConstraint(["campus_id"], ["campuses.id"], name=op.f("fk_kiosk_terminals_campus_id_campuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_terminals")),
        sa.UniqueConstraint("code", name=op.f("uq_kiosk_terminals_code")),
    )
    with op.batch_alter_table("queue_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_at", TZDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_tickets", schema=None) as batch_op:
        batch_op.drop_column("line_at")
    op.drop_table("kiosk_terminals")
