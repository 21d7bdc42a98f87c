"""military: the patient's 军人 flag (served first by the ultrasound triage when us.priority_military is on)

Revision ID: 0022_military
Revises: 0021_cadre
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_military"
down_revision: str | Sequence[str] | None = "0021_cadre"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # server_default: the patients already registered get false (issue 15 item 7).
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("military", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("military")
