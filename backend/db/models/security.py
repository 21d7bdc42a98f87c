"""Server-side staff sessions and enrolled devices (kiosks, hall screens): credentials that can be ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime


class UserSession(Base):
    """One sign-in: the cookie carries its id; ended at logout, password change, deactivation or by an admin."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random session id in the cookie: a leaked table does not hand out sessions.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str] = mapped_column(String(64), default="")


class Device(Base):
    """A kiosk or hall screen enrolled by an admin: a long-lived, revocable credential kept in a device cookie."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # kiosk / screen
    target: Mapped[str] = mapped_column(String(32))  # the terminal's or the screen's code
    name: Mapped[str] = mapped_column(String(64), default="")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(TZDateTime)
    issued_by: Mapped[str] = mapped_column(String(64), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    last_ip: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
