"""cadre-health upload: the roster of covered persons and the upload ledger (exams, files, report versions)

Revision ID: 0021_cadre
Revises: 0020_cloud
Create Date: 2026-12-01 00:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0021_cadre"
down_revision: str | Sequence[str] | None = "0020_cloud"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = backend.db.base.TZDateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cadre_roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_no", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("card_no", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("refreshed_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadre_roster")),
        sa.UniqueConstraint("id_no", name=op.f("uq_cadre_roster_id_no")),
    )
    op.create_table(
        "cadre_uploads",
        sa.Column("id", BIG, nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("files_total", sa.Integer(), nullable=False),
        sa.Column("files_done", sa.Integer(), nullable=False),
        sa.Column("report_version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("next_try_at", TZ, nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_cadre_uploads_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadre_uploads")),
        sa.UniqueConstraint("exam_id", name=op.f("uq_cadre_uploads_exam_id")),
    )
    op.create_index("ix_cadre_uploads_state", "cadre_uploads", ["state"], unique=False)
    op.create_index("ix_cadre_uploads_created_at", "cadre_uploads", ["created_at"], unique=False)
    op.create_index("ix_cadre_uploads_updated_at", "cadre_uploads", ["updated_at"], unique=False)
    op.create_table(
        "cadre_upload_files",
        sa.Column("id", BIG, nullable=False),
        sa.Column("upload_id", BIG, nullable=False),
        sa.Column("sop_uid", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("object_key", sa.String(length=400), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["cadre_uploads.id"],
                                name=op.f("fk_cadre_upload_files_upload_id_cadre_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadre_upload_files")),
        sa.UniqueConstraint("upload_id", "sop_uid", name=op.f("uq_cadre_upload_files_upload_id_sop_uid")),
    )
    op.create_index("ix_cadre_upload_files_upload_id", "cadre_upload_files", ["upload_id"], unique=False)
    op.create_table(
        "cadre_upload_reports",
        sa.Column("id", BIG, nullable=False),
        sa.Column("upload_id", BIG, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pdf_key", sa.String(length=400), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("posted_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["upload_id"], ["cadre_uploads.id"],
                                name=op.f("fk_cadre_upload_reports_upload_id_cadre_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadre_upload_reports")),
        sa.UniqueConstraint("upload_id", "version", name=op.f("uq_cadre_upload_reports_upload_id_version")),
    )
    op.create_index("ix_cadre_upload_reports_upload_id", "cadre_upload_reports", ["upload_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cadre_upload_reports_upload_id", table_name="cadre_upload_reports")
    op.drop_table("cadre_upload_reports")
    op.drop_index("ix_cadre_upload_files_upload_id", table_name="cadre_upload_files")
    op.drop_table("cadre_upload_files")
    op.drop_index("ix_cadre_uploads_updated_at", table_name="cadre_uploads")
    op.drop_index("ix_cadre_uploads_created_at", table_name="cadre_uploads")
    op.drop_index("ix_cadre_uploads_state", table_name="cadre_uploads")
    op.drop_table("cadre_uploads")
    op.drop_table("cadre_roster")
