"""reporting: who typed a report version (typist drafting for a radiologist)

Revision ID: 0002_reporting
Revises: 0001_core
Create Date: 2026-11-27 23:12:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_reporting"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("typed_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_report_versions_typed_by_users"), "users", ["typed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("report_versions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_report_versions_typed_by_users"), type_="foreignkey")
        batch_op.drop_column("typed_by")
