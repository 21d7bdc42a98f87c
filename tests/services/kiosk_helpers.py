"""Builders for check-in and calling tests: patients with exams on chosen slots."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from backend.domain.registration import OrderData, PatientData
from backend.services.orders import registration

_seq = itertools.count(1)


def new_patient(name: str = "张三明", **kw: Any) -> PatientData:
    n = next(_seq)
    return PatientData(mrn=kw.pop("mrn", f"K{n:07d}"), name=name, sex="M", **kw)


def slot_at(svc: Any, by: Any, item: str, *, hour: int, days: int = 0) -> int:
    """The id of the slot of `item` starting at `hour` (local) `days` from today."""
    day = svc.clock().astimezone(svc.tz).date() + timedelta(days=days)
    for s in registration.available_slots(svc, item, day, by=by):
        if s["label"].startswith(f"{hour:02d}:"):
            return int(s["id"])
    raise AssertionError(f"no {item} slot at {hour}:00")


def exam_for(svc: Any, by: Any, patient: PatientData, item: str = "CT-CHEST", *, hour: int | None = 9,
             days: int = 0, **kw: Any) -> dict[str, Any]:
    """Register one exam for `patient` (on the slot at `hour`, or no slot when hour is None)."""
    slot_id = slot_at(svc, by, item, hour=hour, days=days) if hour is not None else None
    return registration.register(svc, OrderData(patient=patient, item_code=item, slot_id=slot_id, **kw), by=by)
