"""recon: the lung-nodule reconstruction requests (LN-5..LN-7)

Revision ID: 0019_recon
Revises: 0017_security
Create Date: 2026-12-01 00:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0019_recon"
down_revision: str | Sequence[str] | None = "0017_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = backend.db.base.TZDateTime(timezone=True)
    op.create_table(
        "recon_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("source_study_uid", sa.String(length=64), nullable=False),
        sa.Column("source_series_uid", sa.String(length=64), nullable=False),
        sa.Column("source_accession", sa.String(length=32), nullable=False),
        sa.Column("target_study_uid", sa.String(length=64), nullable=False),
        sa.Column("peer_ae", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.Column("linked_at", tz, nullable=False),
        sa.Column("undone_by", sa.String(length=64), nullable=True),
        sa.Column("undone_at", tz, nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", tz, nullable=True),
        sa.Column("deadline_at", tz, nullable=True),
        sa.Column("completed_at", tz, nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_recon_requests_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_requests")),
    )
    op.create_index("ix_recon_requests_exam_id", "recon_requests", ["exam_id"], unique=False)
    op.create_index("ix_recon_requests_target_study_uid", "recon_requests", ["target_study_uid"], unique=False)
    op.create_index("ix_recon_requests_state_sent", "recon_requests", ["state", "sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_recon_requests_state_sent", table_name="recon_requests")
    op.drop_index("ix_recon_requests_target_study_uid", table_name="recon_requests")
    op.drop_index("ix_recon_requests_exam_id", table_name="recon_requests")
    op.drop_table("recon_requests")
