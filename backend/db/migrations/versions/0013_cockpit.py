"""cockpit: critical values keep the notification time entered and the time it was recorded

Revision ID: 0013_cockpit
Revises: 0012_data_api
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0013_cockpit"
down_revision: str | Sequence[str] | None = "0012_data_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("critical_values") as batch:
        batch.add_column(sa.Column("notified_recorded_at", backend.db.base.TZDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("notify_late_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("critical_values") as batch:
        batch.drop_column("notify_late_reason")
        batch.drop_column("notified_recorded_at")
