"""The deterministic demo hospital: reference data (campuses, rooms, items, users) and history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.config import Settings

# username, password, role label: printed by the run command and listed in the README.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "admin123456", "系统管理员 admin"),
    ("clerk", "clerk123456", "登记员 clerk"),
    ("nurse", "nurse123456", "护士 nurse"),
    ("tech", "tech123456", "技师 technologist"),
    ("doctor", "doctor123456", "报告医师 radiologist"),
    ("doctor2", "doctor123456", "报告医师 radiologist"),
    ("senior", "senior123456", "审核医师 senior radiologist"),
    ("typist", "typist123456", "打字员 typist"),
    ("head", "head123456", "科主任 department head"),
    ("sono", "sono123456", "超声医师 radiologist (ultrasound)"),
]


def is_empty(settings: Settings) -> bool:
    from backend.db.models import User
    from backend.db.session import make_engine

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return (conn.scalar(select(func.count()).select_from(User)) or 0) == 0
    finally:
        engine.dispose()


def run_seed(settings: Settings, *, scale: str, seed: int, days: int | None, progress: bool,
             images: bool = True) -> dict[str, Any]:
    """Reference data, history and (demo scale, unless `images` is False) the demo images."""
    from backend.seed.history import seed_history
    from backend.seed.reference import seed_reference

    ref = seed_reference(settings, seed=seed)
    hist = seed_history(settings, scale=scale, seed=seed, days=days, progress=progress)
    if scale != "demo" or not images:
        return {"reference": ref, "history": hist}
    from backend.seed.images import seed_images

    return {"reference": ref, "history": hist, "images": seed_images(settings, seed=seed)}
