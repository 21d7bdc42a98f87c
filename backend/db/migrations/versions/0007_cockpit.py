"""cockpit rollups, emergency-report reminders, index on exams.report_due_at

Revision ID: 0007_cockpit
Revises: 0001_core
Create Date: 2026-11-27 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0007_cockpit"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cockpit_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("patient_class", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "modality", "category", "patient_class",
                                name=op.f("pk_cockpit_daily")),
    )
    op.create_table(
        "cockpit_marks",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("modality", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("patient_class", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_cockpit_marks_exam_id_exams")),
        sa.PrimaryKeyConstraint("exam_id", "kind", name=op.f("pk_cockpit_marks")),
    )
    op.create_index("ix_cockpit_marks_kind_day", "cockpit_marks", ["kind", "day"], unique=False)
    op.create_table(
        "er_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("snooze_until", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("acted_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_er_reminders_exam_id_exams")),
        sa.ForeignKeyConstraint(["recipient_id"], ["users.id"], name=op.f("fk_er_reminders_recipient_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_er_reminders")),
        sa.UniqueConstraint("exam_id", "recipient_id", "kind",
                            name=op.f("uq_er_reminders_exam_id_recipient_id_kind")),
    )
    op.create_index(op.f("ix_er_reminders_exam_id"), "er_reminders", ["exam_id"], unique=False)
    op.create_index("ix_er_reminders_recipient_state", "er_reminders", ["recipient_id", "state"], unique=False)
    op.create_index("ix_exams_report_due_at", "exams", ["report_due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_exams_report_due_at", table_name="exams")
    op.drop_index("ix_er_reminders_recipient_state", table_name="er_reminders")
    op.drop_index(op.f("ix_er_reminders_exam_id"), table_name="er_reminders")
    op.drop_table("er_reminders")
    op.drop_index("ix_cockpit_marks_kind_day", table_name="cockpit_marks")
    op.drop_table("cockpit_marks")
    op.drop_table("cockpit_daily")
