"""Builders for ultrasound dispatch tests: sonographers, shift ids, room ids and checked-in US patients."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from backend.db.models import Department, Room
from backend.db.models.ultrasound import Shift
from backend.domain.actor import Actor
from backend.domain.registration import OrderData, PatientData
from backend.services import auth
from backend.services.base import Services, transaction
from backend.services.orders import registration
from backend.services.patient_flow import checkin

_seq = itertools.count(1)


def room_id(svc: Services, code: str) -> int:
    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalars(select(Room.id).where(Room.code == code)).one())


def shift_id(svc: Services, name: str) -> int:
    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalars(select(Shift.id).where(Shift.name == name)).one())


def sonographer(svc: Services, admin: Actor, name: str = "超声医师") -> Actor:
    """A new ultrasound-department user who may examine (radiologist + technologist)."""
    n = next(_seq)
    with transaction(svc, readonly=True) as tx:
        usd = tx.session.scalars(select(Department.id).where(Department.code == "USD")).one()
    auth.create_user(svc, username=f"us{n:04d}", password="pw123456789", display_name=f"{name}{n}",
                     roles=["radiologist", "technologist"], department_id=usd, by=admin)
    return auth.login(svc, f"us{n:04d}", "pw123456789")


def us_exam(svc: Services, clerk: Actor, item: str = "US-BREAST", **kw: Any) -> tuple[PatientData, dict[str, Any]]:
    n = next(_seq)
    p = PatientData(mrn=f"U{n:07d}", name="钱小红", sex="F")
    return p, registration.register(svc, OrderData(patient=p, item_code=item, slot_id=None, **kw), by=clerk)


def check_in_us(svc: Services, actors: dict[str, Actor], item: str = "US-BREAST", **kw: Any) -> dict[str, Any]:
    """Register and desk-check-in one ultrasound exam; returns the check-in result (with its ticket)."""
    p, _e = us_exam(svc, actors["clerk"], item, **kw)
    r = checkin.check_in(svc, None, "mrn", p.mrn, by=actors["nurse"])["results"][0]
    assert r["ok"], r
    return r
