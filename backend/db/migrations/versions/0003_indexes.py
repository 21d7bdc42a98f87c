"""indexes for the exam list at hospital scale (bench/bench_exam_list.py)

- exams (report_status, created_at): review queues list "submitted" reports newest first.
- PostgreSQL only: ix_patients_name rebuilt with text_pattern_ops, so that LIKE 'prefix%' on a name uses it
  whatever the database collation (SQLite uses its plain name index through GLOB, see services/exam_list.py).

Revision ID: 0003_indexes
Revises: 0001_core
Create Date: 2026-11-27 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_indexes"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_exams_report_status_created", "exams", ["report_status", "created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_patients_name", table_name="patients")
        op.create_index("ix_patients_name", "patients", ["name"], unique=False,
                        postgresql_ops={"name": "text_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_patients_name", table_name="patients")
        op.create_index("ix_patients_name", "patients", ["name"], unique=False)
    op.drop_index("ix_exams_report_status_created", table_name="exams")
