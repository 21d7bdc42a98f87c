"""Small builders shared by tests: orders and registered exams."""

from __future__ import annotations

import itertools
from typing import Any

from backend.domain.actor import Actor
from backend.domain.registration import OrderData, PatientData
from backend.services.base import Services
from backend.services.orders import registration

_seq = itertools.count(1)


def order(item_code: str = "DR-CHEST", *, mrn: str | None = None, name: str = "张三", slot_id: int | None = None,
          **kw: Any) -> OrderData:
    n = next(_seq)
    patient = PatientData(mrn=mrn or f"T{n:07d}", name=name, sex=kw.pop("sex", "M"))
    return OrderData(patient=patient, item_code=item_code, slot_id=slot_id, **kw)


def register(svc: Services, by: Actor, item_code: str = "DR-CHEST", **kw: Any) -> dict[str, Any]:
    return registration.register(svc, order(item_code, **kw), by=by)


def first_slot(svc: Services, by: Actor, item_code: str = "CT-CHEST", day: Any = None) -> dict[str, Any]:
    """The first open slot of an item today (or on `day`) that is not over yet."""
    d = day or svc.clock().astimezone(svc.tz).date()
    for s in registration.available_slots(svc, item_code, d, by=by):
        if not s["past"] and s["remaining"] > 0:
            return s
    raise AssertionError(f"no open slot for {item_code} on {d}")
