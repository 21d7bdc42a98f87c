"""Demo ultrasound shifts: a morning and an afternoon group, one shift per subspecialty (US1..US8)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models.ultrasound import Shift, ShiftGroup, ShiftQueue

# group name, slot type, shifts: (name, queue codes, max auto-triage, typist weight)
SUBSPECIALTIES = [("乳腺", ["US-BREAST"], 8, 0.5), ("甲状腺", ["US-THYROID"], 8, 0.5),
                  ("血管妇产", ["US-VASC", "US-OB"], 6, 0.5), ("腹部", ["US-ABD"], 10, 0.3)]
GROUPS = [("上午班", "am"), ("下午班", "pm")]


def seed_shifts(s: Session, campus: dict[str, int], dept: dict[str, int], queue: dict[str, int]) -> int:
    """Add the demo shift groups and shifts that are missing; returns how many shifts were added."""
    added = 0
    for gname, slot in GROUPS:
        group = s.scalars(select(ShiftGroup).where(ShiftGroup.name == gname)).first()
        if group is None:
            group = ShiftGroup(name=gname, department_id=dept["USD"], active=True)
            s.add(group)
            s.flush()
        for sub, qcodes, max_auto, weight in SUBSPECIALTIES:
            name = f"{sub}{gname}"
            if s.scalars(select(Shift.id).where(Shift.name == name, Shift.group_id == group.id)).first():
                continue
            shift = Shift(name=name, group_id=group.id, campus_id=campus["MAIN"], department_id=dept["USD"],
                          slot_type=slot, max_auto=max_auto, typist_weight=weight, active=True)
            s.add(shift)
            s.flush()
            s.add_all([ShiftQueue(shift_id=shift.id, queue_id=queue[q]) for q in qcodes])
            added += 1
    return added
