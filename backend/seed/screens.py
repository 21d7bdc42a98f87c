"""Demo hall screens: the main hall (missed list on the right), a second main screen with the missed
band at the bottom, and the east campus portrait screen. Idempotent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models.screens import Screen

# code, name, campus code, layout file, queue codes (empty: all of the campus), voice repeat
SCREENS = [
    ("HALL-MAIN", "本部放射科候诊大厅主屏", "MAIN", "hall-main.toml", ["CT", "MR", "DR", "MG", "RF"], 2),
    ("HALL-MAIN-2", "本部放射科候诊大厅副屏", "MAIN", "hall-missed-bottom.toml", ["CT", "MR", "DR"], 2),
    ("HALL-EAST", "东院区影像候诊屏", "EAST", "hall-east.toml", [], 2),
]


def seed_screens(s: Session, campus: dict[str, int]) -> int:
    """Add the demo screens that are missing; returns how many were added."""
    added = 0
    for code, name, ccode, layout, queues, repeat in SCREENS:
        if s.scalars(select(Screen).where(Screen.code == code)).first() is None:
            s.add(Screen(code=code, name=name, campus_id=campus[ccode], layout=layout, queue_codes=queues,
                         notice="", active=True, voice_enabled=True, voice_repeat=repeat, masking=None))
            added += 1
    return added
