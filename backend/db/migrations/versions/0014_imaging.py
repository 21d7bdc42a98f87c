"""imaging: archive index and known DICOM nodes

Revision ID: 0014_imaging
Revises: 0013_cockpit
Create Date: 2026-11-30 21:05:37.750463
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0014_imaging"
down_revision: str | Sequence[str] | None = "0013_cockpit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dicom_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ae_title", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("can_store", sa.Boolean(), nullable=False),
        sa.Column("can_query", sa.Boolean(), nullable=False),
        sa.Column("can_retrieve", sa.Boolean(), nullable=False),
        sa.Column("can_worklist", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dicom_nodes")),
        sa.UniqueConstraint("ae_title", name=op.f("uq_dicom_nodes_ae_title")),
    )
    op.create_table(
        "imaging_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("match", sa.String(length=16), nullable=False),
        sa.Column("accession", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=128), nullable=False),
        sa.Column("patient_sex", sa.String(length=1), nullable=False),
        sa.Column("patient_birth_date", sa.Date(), nullable=True),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("study_time", sa.String(length=16), nullable=False),
        sa.Column("study_id", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("referring_physician", sa.String(length=64), nullable=False),
        sa.Column("modalities", sa.String(length=64), nullable=False),
        sa.Column("series_count", sa.Integer(), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("received_from", sa.String(length=16), nullable=False),
        sa.Column("first_received_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("received_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_imaging_studies_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_studies")),
        sa.UniqueConstraint("study_uid", name=op.f("uq_imaging_studies_study_uid")),
    )
    with op.batch_alter_table("imaging_studies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imaging_studies_accession"), ["accession"], unique=False)
        batch_op.create_index(batch_op.f("ix_imaging_studies_exam_id"), ["exam_id"], unique=False)
        batch_op.create_index("ix_imaging_studies_match_received", ["match", "last_received_at"], unique=False)
        batch_op.create_index("ix_imaging_studies_patient_date", ["patient_id", "study_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_imaging_studies_study_date"), ["study_date"], unique=False)

    op.create_table(
        "imaging_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("series_uid", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("body_part", sa.String(length=32), nullable=False),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("first_received_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", backend.db.base.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"], ["imaging_studies.id"], name=op.f("fk_imaging_series_study_id_imaging_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_series")),
        sa.UniqueConstraint("series_uid", name=op.f("uq_imaging_series_series_uid")),
    )
    with op.batch_alter_table("imaging_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imaging_series_study_id"), ["study_id"], unique=False)

    op.create_table(
        "imaging_instances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("columns", sa.Integer(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("received_from", sa.String(length=16), nullable=False),
        sa.Column("received_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"], ["imaging_series.id"], name=op.f("fk_imaging_instances_series_id_imaging_series")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["imaging_studies.id"], name=op.f("fk_imaging_instances_study_id_imaging_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_instances")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_imaging_instances_sop_instance_uid")),
    )
    with op.batch_alter_table("imaging_instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imaging_instances_series_id"), ["series_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_imaging_instances_study_id"), ["study_id"], unique=False)

    op.create_table(
        "imaging_performed_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("step_status", sa.String(length=16), nullable=False),
        sa.Column("performed_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.db.base.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name=op.f("fk_imaging_performed_steps_exam_id_exams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_performed_steps")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_imaging_performed_steps_sop_instance_uid")),
    )
    with op.batch_alter_table("imaging_performed_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imaging_performed_steps_exam_id"), ["exam_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("imaging_performed_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imaging_performed_steps_exam_id"))
    op.drop_table("imaging_performed_steps")
    with op.batch_alter_table("imaging_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imaging_instances_study_id"))
        batch_op.drop_index(batch_op.f("ix_imaging_instances_series_id"))

    op.drop_table("imaging_instances")
    with op.batch_alter_table("imaging_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imaging_series_study_id"))

    op.drop_table("imaging_series")
    with op.batch_alter_table("imaging_studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imaging_studies_study_date"))
        batch_op.drop_index("ix_imaging_studies_patient_date")
        batch_op.drop_index("ix_imaging_studies_match_received")
        batch_op.drop_index(batch_op.f("ix_imaging_studies_exam_id"))
        batch_op.drop_index(batch_op.f("ix_imaging_studies_accession"))

    op.drop_table("imaging_studies")
    op.drop_table("dicom_nodes")
