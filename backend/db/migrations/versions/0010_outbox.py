"""outbox: updated_at, and one index for the claim query (kind, state, next_try_at)

Revision ID: 0010_outbox
Revises: 0009_merge_areas
Create Date: 2026-11-28

No data moves: nothing wrote outbox rows before this revision (the old "failed" state was never used).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0010_outbox"
down_revision: str | Sequence[str] | None = "0009_merge_areas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_outbox_state_next")
        batch_op.create_index("ix_outbox_kind_state_next", ["kind", "state", "next_try_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_state_next")
        batch_op.create_index("ix_outbox_state_next", ["state", "next_try_at"], unique=False)
        batch_op.drop_column("updated_at")
