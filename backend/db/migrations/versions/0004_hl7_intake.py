"""hl7 intake: inbound health-check order messages, the key of intake idempotency (PE-1, PE-2)

Revision ID: 0004_hl7_intake
Revises: 0001_core
Create Date: 2026-11-27 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0004_hl7_intake"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("control_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("placer_order_no", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("ack_text", sa.String(length=200), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("accession", sa.String(length=32), nullable=True),
        sa.Column("exam_status", sa.String(length=16), nullable=True),
        sa.Column("requested_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_inbound_messages_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("sender", "control_id", name=op.f("uq_inbound_messages_sender_control_id")),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_messages_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_messages_placer_order_no"), ["placer_order_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_messages_placer_order_no"))
        batch_op.drop_index(batch_op.f("ix_inbound_messages_exam_id"))
    op.drop_table("inbound_messages")
