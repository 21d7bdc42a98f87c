"""ultrasound dispatch: shift groups, shifts, shift queues, shift sessions

Revision ID: 0008_ultrasound
Revises: 0001_core
Create Date: 2026-11-28 00:23:15.264520
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0008_ultrasound"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shift_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_shift_groups_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_shift_groups_name")),
    )
    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("slot_type", sa.String(length=16), nullable=False),
        sa.Column("max_auto", sa.Integer(), nullable=False),
        sa.Column("typist_weight", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["campus_id"], ["campuses.id"], name=op.f("fk_shifts_campus_id_campuses")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_shifts_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["group_id"], ["shift_groups.id"], name=op.f("fk_shifts_group_id_shift_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shifts_group_id"), ["group_id"], unique=False)

    op.create_table(
        "shift_queues",
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_shift_queues_queue_id_queues")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_shift_queues_shift_id_shifts")),
        sa.PrimaryKeyConstraint("shift_id", "queue_id", name=op.f("pk_shift_queues")),
    )
    with op.batch_alter_table("shift_queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_queues_queue_id"), ["queue_id"], unique=False)

    op.create_table(
        "shift_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("with_typist", sa.Boolean(), nullable=False),
        sa.Column("started_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_shift_sessions_room_id_rooms")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_shift_sessions_shift_id_shifts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_shift_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_sessions")),
    )
    with op.batch_alter_table("shift_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_shift_sessions_room_open", ["room_id", "ended_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_sessions_shift_id"), ["shift_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shift_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_shift_sessions_shift_id"))
        batch_op.drop_index("ix_shift_sessions_room_open")

    op.drop_table("shift_sessions")
    with op.batch_alter_table("shift_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_queues_queue_id"))

    op.drop_table("shift_queues")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shifts_group_id"))

    op.drop_table("shifts")
    op.drop_table("shift_groups")
