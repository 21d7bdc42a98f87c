"""health cloud ledger (HC-1..HC-9): per-study cloud state, per-file state, links to old registrations

Revision ID: 0020_cloud
Revises: 0019_recon
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0020_cloud"
down_revision: str | Sequence[str] | None = "0019_recon"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cloud_old_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_cloud_id", sa.String(length=64), nullable=False),
        sa.Column("accession", sa.String(length=32), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=128), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("registered_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("imported_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_cloud_old_links_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_old_links")),
        sa.UniqueConstraint("old_cloud_id", name=op.f("uq_cloud_old_links_old_cloud_id")),
    )
    op.create_index(op.f("ix_cloud_old_links_accession"), "cloud_old_links", ["accession"], unique=False)
    op.create_index(op.f("ix_cloud_old_links_exam_id"), "cloud_old_links", ["exam_id"], unique=False)
    op.create_index(op.f("ix_cloud_old_links_study_uid"), "cloud_old_links", ["study_uid"], unique=False)
    op.create_table(
        "cloud_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("accession", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=128), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("manual", sa.String(length=8), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.String(length=64), nullable=False),
        sa.Column("old_cloud_id", sa.String(length=64), nullable=False),
        sa.Column("files_total", sa.Integer(), nullable=False),
        sa.Column("files_done", sa.Integer(), nullable=False),
        sa.Column("files_refused", sa.Integer(), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=False),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw_answer", sa.Text(), nullable=False),
        sa.Column("next_retry_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("registered_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("uploaded_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("created_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_cloud_studies_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_studies")),
        sa.UniqueConstraint("study_uid", name=op.f("uq_cloud_studies_study_uid")),
    )
    op.create_index(op.f("ix_cloud_studies_accession"), "cloud_studies", ["accession"], unique=False)
    op.create_index(op.f("ix_cloud_studies_exam_id"), "cloud_studies", ["exam_id"], unique=False)
    op.create_index(op.f("ix_cloud_studies_status"), "cloud_studies", ["status"], unique=False)
    op.create_index(op.f("ix_cloud_studies_study_date"), "cloud_studies", ["study_date"], unique=False)
    op.create_index(op.f("ix_cloud_studies_uploaded_at"), "cloud_studies", ["uploaded_at"], unique=False)
    op.create_table(
        "cloud_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cloud_study_id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("uploaded_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cloud_study_id"], ["cloud_studies.id"], name=op.f("fk_cloud_files_cloud_study_id_cloud_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_files")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_cloud_files_idempotency_key")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_cloud_files_sop_instance_uid")),
    )
    op.create_index(op.f("ix_cloud_files_cloud_study_id"), "cloud_files", ["cloud_study_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cloud_files_cloud_study_id"), table_name="cloud_files")
    op.drop_table("cloud_files")
    op.drop_index(op.f("ix_cloud_studies_uploaded_at"), table_name="cloud_studies")
    op.drop_index(op.f("ix_cloud_studies_study_date"), table_name="cloud_studies")
    op.drop_index(op.f("ix_cloud_studies_status"), table_name="cloud_studies")
    op.drop_index(op.f("ix_cloud_studies_exam_id"), table_name="cloud_studies")
    op.drop_index(op.f("ix_cloud_studies_accession"), table_name="cloud_studies")
    op.drop_table("cloud_studies")
    op.drop_index(op.f("ix_cloud_old_links_study_uid"), table_name="cloud_old_links")
    op.drop_index(op.f("ix_cloud_old_links_exam_id"), table_name="cloud_old_links")
    op.drop_index(op.f("ix_cloud_old_links_accession"), table_name="cloud_old_links")
    op.drop_table("cloud_old_links")
