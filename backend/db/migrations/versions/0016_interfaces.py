"""interfaces: the interface monitor's log of HL7 messages in (accepted and refused) and results out

Revision ID: 0016_interfaces
Revises: 0014_imaging
Create Date: 2026-11-30 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0016_interfaces"
down_revision: str | Sequence[str] | None = "0014_imaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interface_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("control_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("placer_order_no", sa.String(length=64), nullable=False),
        sa.Column("at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("first_reason", sa.String(length=32), nullable=False),
        sa.Column("ack_text", sa.String(length=500), nullable=False),
        sa.Column("charset", sa.String(length=32), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("accession", sa.String(length=32), nullable=True),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("handled_by", sa.String(length=64), nullable=False),
        sa.Column("handled_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_interface_messages_exam_id_exams")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_interface_messages_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interface_messages")),
    )
    with op.batch_alter_table("interface_messages", schema=None) as batch_op:
        batch_op.create_index("ix_interface_messages_direction_at", ["direction", "at"], unique=False)
        for column in ("control_id", "exam_id", "outbox_id", "placer_order_no", "state"):
            batch_op.create_index(batch_op.f(f"ix_interface_messages_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("interface_messages")
