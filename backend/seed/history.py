"""History of the demo hospital (filled in by the seeding work)."""

from __future__ import annotations

from typing import Any

from backend.config import Settings


def seed_history(settings: Settings, *, scale: str, seed: int, days: int | None, progress: bool) -> dict[str, Any]:
    return {"exams": 0}
