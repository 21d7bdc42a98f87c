"""Builders for hall-screen tests: checked-in patients with queue tickets, called and missed.

Tickets are created by the real check-in service; calls go through the room-desk calling service
when it exists (backend/services/patient_flow/calling.py), else the test moves the ticket row itself."""

from __future__ import annotations

import importlib.util
from typing import Any

from sqlalchemy import select

from backend.db.models import QueueTicket, Room
from backend.domain.actor import Actor
from backend.services.base import Services, transaction
from backend.services.patient_flow import checkin
from tests.helpers import register

HAS_CALLING = importlib.util.find_spec("backend.services.patient_flow.calling") is not None


def checked_in(svc: Services, actors: dict[str, Actor], name: str, item: str = "DR-CHEST", **kw: Any) -> int:
    """Register and check in one patient at the nurse desk; returns the ticket id."""
    exam = register(svc, actors["clerk"], item, name=name, **kw)
    result = checkin.check_in_exam(svc, exam["exam_id"], None, by=actors["nurse"])
    assert result["ok"], result
    return int(result["ticket"]["ticket_id"])


def room_id(svc: Services, code: str) -> int:
    with transaction(svc, readonly=True) as tx:
        return int(tx.session.scalars(select(Room.id).where(Room.code == code)).one())


def call(svc: Services, actors: dict[str, Actor], room_code: str) -> int:
    """Call the next patient into a room; returns the called ticket id."""
    rid = room_id(svc, room_code)
    if HAS_CALLING:
        from backend.services.patient_flow import calling

        result = calling.call_next(svc, rid, by=actors["tech"])
        return int((result.get("ticket") or result)["ticket_id"])
    with transaction(svc) as tx:
        ticket = tx.session.scalars(select(QueueTicket).where(QueueTicket.status == "waiting")
                                    .order_by(QueueTicket.sort_at, QueueTicket.id)).first()
        assert ticket is not None
        ticket.status, ticket.room_id, ticket.called_at = "called", rid, tx.now
        ticket.call_count += 1
        return ticket.id


def miss(svc: Services, actors: dict[str, Actor], ticket_id: int) -> None:
    """Mark a called patient as missed (过号)."""
    if HAS_CALLING:
        from backend.services.patient_flow import calling

        calling.mark_missed(svc, ticket_id, by=actors["tech"])
        return
    with transaction(svc) as tx:
        ticket = tx.session.get(QueueTicket, ticket_id)
        assert ticket is not None
        ticket.status = "missed"
