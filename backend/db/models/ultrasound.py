"""Ultrasound dispatch: shift groups (班次组), shifts (工作班次) with their queues, and shift sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime


class ShiftGroup(Base):
    __tablename__ = "shift_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Shift(Base):
    """A work shift: where, which subspecialty queues, when (slot type), and its auto-triage limits."""

    __tablename__ = "shifts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(ForeignKey("shift_groups.id"), index=True)
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    slot_type: Mapped[str] = mapped_column(String(16))  # am / pm / night / all_day (domain/dispatch.py)
    max_auto: Mapped[int] = mapped_column(Integer)
    typist_weight: Mapped[float] = mapped_column(Float, default=0.0)
    # The working window in site time ("HH:MM"); empty: the slot type's default (domain/dispatch.py).
    start_time: Mapped[str | None] = mapped_column(String(5))
    end_time: Mapped[str | None] = mapped_column(String(5))
    # Retired shifts keep their history (sessions) but cannot be chosen any more.
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ShiftQueue(Base):
    """The queues a shift serves (its subspecialties)."""

    __tablename__ = "shift_queues"
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True, index=True)


class ShiftSession(Base):
    """Who works which shift in which room, with or without a typist, from when to when."""

    __tablename__ = "shift_sessions"
    __table_args__ = (Index("ix_shift_sessions_room_open", "room_id", "ended_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    with_typist: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(TZDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # logout / handover / switched / closed / expired
    # When the session ends by itself (its shift window's end + grace, or the day change).
    ends_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Paused by the nurse or the admin: no auto-triage into the room until resumed.
    paused_at: Mapped[datetime | None] = mapped_column(TZDateTime)

