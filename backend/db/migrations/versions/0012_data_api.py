"""data api: calls per key, dataset and day; indexes for the sync feed and the report and ticket datasets

Revision ID: 0012_data_api
Revises: 0011_scale
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0012_data_api"
down_revision: str | Sequence[str] | None = "0011_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_api_usage",
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("last_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name=op.f("fk_data_api_usage_key_id_api_keys")),
        sa.PrimaryKeyConstraint("key_id", "day", "dataset", name=op.f("pk_data_api_usage")),
    )
    op.create_index("ix_exam_events_at", "exam_events", ["at"], unique=False)
    op.create_index("ix_reports_approved_at", "reports", ["approved_at"], unique=False)
    op.create_index("ix_queue_tickets_day", "queue_tickets", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_queue_tickets_day", table_name="queue_tickets")
    op.drop_index("ix_reports_approved_at", table_name="reports")
    op.drop_index("ix_exam_events_at", table_name="exam_events")
    op.drop_table("data_api_usage")
