"""Self check-in terminals (自助机): where each stands, what it may check in for, how it displays."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base


class KioskTerminal(Base):
    __tablename__ = "kiosk_terminals"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id"))
    # Queue codes this terminal may check in for; empty = every queue of its campus.
    queue_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    display_profile: Mapped[str] = mapped_column(String(16), default="portrait")  # portrait/landscape/small
    # The API key this device uses for POST /api/kiosk/checkin; another key cannot act as this kiosk.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
