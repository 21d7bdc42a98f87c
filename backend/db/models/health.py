"""Heartbeats: each process's last word about the components it runs (read by `/api/health`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime


class ComponentBeat(Base):
    """One component as one process instance (`host:pid`) last reported it; rewritten every few seconds."""

    __tablename__ = "component_beats"
    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(String(255), default="")
    beat_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    last_error: Mapped[str] = mapped_column(String(255), default="")
    last_error_at: Mapped[datetime | None] = mapped_column(TZDateTime)
