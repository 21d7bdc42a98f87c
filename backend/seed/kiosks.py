"""Demo self check-in terminals: K1 (本部, portrait), K2 (本部, landscape), K3 (东院, small screen)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models.kiosk import KioskTerminal

# code, name, campus code, queue codes (empty = all of the campus), display profile
KIOSKS = [
    ("K1", "门诊大厅自助机1", "MAIN", [], "portrait"),
    ("K2", "放射科候诊区自助机", "MAIN", ["CT", "MR", "DR", "MG", "RF"], "landscape"),
    ("K3", "东院自助机", "EAST", [], "small"),
]


def seed_kiosks(s: Session, campus: dict[str, int]) -> int:
    """Add the demo kiosks that are missing; returns how many were added."""
    have = set(s.scalars(select(KioskTerminal.code)))
    added = 0
    for code, name, cc, queues, profile in KIOSKS:
        if code not in have:
            s.add(KioskTerminal(code=code, name=name, campus_id=campus[cc], queue_codes=queues,
                                display_profile=profile, active=True))
            added += 1
    return added
