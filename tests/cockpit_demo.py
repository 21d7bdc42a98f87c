"""Bulk demo history for the cockpit (browser tests and the bench fallback): exams with full timelines
written set-wise, then the rollups rebuilt from them, as the seeder does after a bulk load."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.db.models import Campus, CriticalValue, Exam, ExamEvent, ExamItem, Patient
from backend.services.cockpit.rollups import rebuild_all

MIX = [("CT-CHEST", 5), ("CT-LDCT", 2), ("CT-GCP", 1), ("MR-BRAIN", 3), ("MR-BREAST", 2), ("MR-GCP", 1),
       ("DR-CHEST", 4), ("MG-BILAT", 1), ("RF-UGI", 1), ("US-BREAST", 2)]
CLASSES = [("outpatient", 55), ("inpatient", 30), ("emergency", 15)]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "欧阳明华", "孙丽"]


def _pick(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _steps(t0: datetime, rng: random.Random, *, wait_min: int) -> list[tuple[str, datetime]]:
    checked = t0 + timedelta(minutes=5)
    started = checked + timedelta(minutes=wait_min)
    done = started + timedelta(minutes=12)
    approved = done + timedelta(minutes=rng.randint(25, 400))
    return [("ordered", t0), ("registered", t0 + timedelta(minutes=2)), ("checked_in", checked),
            ("started", started), ("completed", done), ("report_approved", approved)]


def fill(session: Session, *, now: datetime, tz: ZoneInfo, days: int = 560, per_day: int = 12,
         seed: int = 7) -> dict[str, int]:
    """Write `days` days of exams up to `now` (plus today's long waits and appointments); commits."""
    rng = random.Random(seed)
    items = {code: (iid, mod, cat) for iid, code, mod, cat in session.execute(
        select(ExamItem.id, ExamItem.code, ExamItem.modality_code, ExamItem.category))}
    campus = session.scalars(select(Campus.id).order_by(Campus.id)).first()
    next_id = {m: int(session.scalar(select(func.coalesce(func.max(m.id), 0))) or 0) + 1
               for m in (Patient, Exam, ExamEvent)}
    exams: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    patients: list[dict[str, Any]] = []
    today = now.astimezone(tz).date()
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        for _ in range(per_day + rng.randint(-3, 3)):
            t0 = datetime.combine(day, time(7), tzinfo=tz) + timedelta(minutes=rng.randint(0, 600))
            steps = [(k, at) for k, at in _steps(t0, rng, wait_min=rng.randint(5, 70)) if at <= now]
            if steps:
                _exam(exams, events, patients, next_id, rng, items, campus, steps)
    _today(exams, events, patients, next_id, rng, items, campus, now, tz)
    for model, rows in ((Patient, patients), (Exam, exams), (ExamEvent, events)):
        session.execute(insert(model), rows)
    _criticals(session, rng, exams, now)
    rebuild_all(session, tz=tz)
    session.commit()
    return {"exams": len(exams), "events": len(events)}


def _exam(exams: list[Any], events: list[Any], patients: list[Any], next_id: dict[Any, int], rng: random.Random,
          items: dict[str, Any], campus: Any, steps: list[tuple[str, datetime]], *, code: str | None = None,
          cls: str | None = None, scheduled_at: datetime | None = None) -> int:
    iid, mod, cat = items[code or _pick(rng, MIX)]
    pid, eid = next_id[Patient], next_id[Exam]
    next_id[Patient] += 1
    next_id[Exam] += 1
    t0, last = steps[0][1], steps[-1][0]
    patients.append({"id": pid, "mrn": f"DM{pid:08d}", "name": rng.choice(NAMES), "sex": "U", "created_at": t0})
    status = {"ordered": "ordered", "scheduled": "scheduled", "registered": "registered", "checked_in": "arrived",
              "started": "in_progress"}.get(last, "completed")
    exams.append({"id": eid, "accession": f"DM{eid:09d}", "patient_id": pid, "exam_item_id": iid,
                  "modality_code": mod, "category": cat, "patient_class": cls or _pick(rng, CLASSES),
                  "priority": "routine", "campus_id": campus, "status": status, "scheduled_at": scheduled_at,
                  "report_status": "approved" if last == "report_approved" else "none", "created_at": t0,
                  "updated_at": steps[-1][1], "body_part": "", "version": 1})
    for kind, at in steps:
        events.append({"id": next_id[ExamEvent], "exam_id": eid, "kind": kind, "at": at, "actor": "system",
                       "details": {}})
        next_id[ExamEvent] += 1
    return eid


def _today(exams: list[Any], events: list[Any], patients: list[Any], next_id: dict[Any, int], rng: random.Random,
           items: dict[str, Any], campus: Any, now: datetime, tz: ZoneInfo) -> None:
    """Long waits (one started late, three still waiting) and subspecialty appointments for today."""
    for minutes, started in ((125, True), (140, False), (110, False), (97, False)):
        checked = now - timedelta(minutes=minutes)
        steps = [("ordered", checked - timedelta(minutes=10)), ("registered", checked - timedelta(minutes=5)),
                 ("checked_in", checked)]
        if started:
            steps.append(("started", now - timedelta(minutes=5)))
        _exam(exams, events, patients, next_id, rng, items, campus, steps, code="DR-CHEST", cls="outpatient")
    midday = datetime.combine(now.astimezone(tz).date(), time(14), tzinfo=tz)
    for code in ("CT-LDCT", "CT-LDCT", "MR-BREAST", "MG-BILAT", "CT-GCP"):
        booked = now - timedelta(days=2)
        _exam(exams, events, patients, next_id, rng, items, campus,
              [("ordered", booked), ("scheduled", booked + timedelta(minutes=1))], code=code, cls="outpatient",
              scheduled_at=midday)


def _criticals(session: Session, rng: random.Random, exams: list[dict[str, Any]], now: datetime) -> None:
    rows = []
    for e in exams[:: max(len(exams) // 300, 1)]:
        raised = e["updated_at"]
        delay = timedelta(minutes=rng.choice([3, 5, 8, 10, 12, 15]))
        notified = raised + delay if raised + delay <= now else None
        rows.append({"exam_id": e["id"], "finding": "危急值", "urgency": "high", "raised_by": "医师",
                     "raised_at": raised, "notified_at": notified, "read_back": True,
                     "status": "notified" if notified else "raised"})
    session.execute(insert(CriticalValue), rows)
