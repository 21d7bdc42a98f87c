"""The lung-nodule reconstruction request (LN-5..LN-7): which prior series an exam uses as its source, who
linked it and when, and how sending and the results went. States: `backend/domain/recon.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime


class ReconRequest(Base):
    """One link of an exam to a prior's series; at most one active (not undone) per exam."""

    __tablename__ = "recon_requests"
    __table_args__ = (Index("ix_recon_requests_state_sent", "state", "sent_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    source_study_uid: Mapped[str] = mapped_column(String(64))
    source_series_uid: Mapped[str] = mapped_column(String(64))
    source_accession: Mapped[str] = mapped_column(String(32), default="")
    # The current exam's study: the source is sent re-labelled with it (and the exam's accession), and the
    # results come back in it (docs/recon_interface.md).
    target_study_uid: Mapped[str] = mapped_column(String(64), index=True)
    peer_ae: Mapped[str] = mapped_column(String(16))  # the reconstruction system's AE title (sender of results)
    state: Mapped[str] = mapped_column(String(16))  # ReconState
    reason: Mapped[str] = mapped_column(Text, default="")  # the last failure, in Chinese
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(TZDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))
    undone_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=1)  # one outbox row per (manual) send
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)  # instances in the source series
    sent: Mapped[int] = mapped_column(Integer, default=0)  # progress of the current attempt
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    results: Mapped[list[Any]] = mapped_column(JSON, default=list)  # result series: uid, number, count
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)
