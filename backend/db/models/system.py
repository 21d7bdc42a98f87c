"""Settings, counters for numbering, and the outbox of outbound work with leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, BigId, TZDateTime


class Setting(Base):
    """A runtime setting editable in the admin panel (value is JSON)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class Counter(Base):
    """A named sequence (accession numbers per day, ticket numbers per queue per day)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Outbox(Base):
    """One unit of outbound work, written with the change that caused it, drained by a job.

    States and transitions: `backend/domain/outbox.py`; the rules of leases and retries:
    `backend/services/outbox.py`.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_kind_state_next", "kind", "state", "next_try_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # OutboxState: pending/leased/done/dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # started attempts, the one under way included
    next_try_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    remote_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # the last change of state or lease
