"""Hall screens (大屏) as data: which layout, campus, queues, voice and masking each screen uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime


class Screen(Base):
    """One public hall screen, reached at /screens/<id or code>."""

    __tablename__ = "screens"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id"), index=True)
    layout: Mapped[str] = mapped_column(String(64))  # a file name in layouts/, e.g. hall-main.toml
    queue_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty: every queue of the campus
    notice: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    voice_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    voice_repeat: Mapped[int] = mapped_column(Integer, default=2)
    # None follows the `masking.enabled` setting; True/False overrides it for this screen.
    masking: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime | None] = mapped_column(TZDateTime)
