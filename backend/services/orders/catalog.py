"""Read-only catalog lookups shared by pages and APIs: campuses, modalities, items, rooms, queues."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import Campus, ExamItem, Modality, Queue, Room
from backend.domain.actor import Actor
from backend.domain.enums import CATEGORY_LABELS, MODALITY_LABELS, Category
from backend.domain.permissions import Perm
from backend.services.base import Services, transaction


def exam_items(svc: Services, *, by: Actor, include_inactive: bool = False) -> list[dict[str, Any]]:
    by.require(Perm.EXAM_READ)
    with transaction(svc, readonly=True) as tx:
        q = select(ExamItem).order_by(ExamItem.modality_code, ExamItem.code)
        if not include_inactive:
            q = q.where(ExamItem.active.is_(True))
        return [{"id": i.id, "code": i.code, "name": i.name, "modality": i.modality_code,
                 "modality_label": MODALITY_LABELS.get(i.modality_code, i.modality_code),
                 "body_part": i.body_part, "category": i.category,
                 "category_label": CATEGORY_LABELS.get(Category(i.category), i.category),
                 "queue_id": i.queue_id, "needs_slot": i.needs_slot, "needs_room": i.needs_room,
                 "report_template_code": i.report_template_code, "active": i.active,
                 "tat_routine_min": i.tat_routine_min, "tat_emergency_min": i.tat_emergency_min}
                for i in tx.session.scalars(q)]


def campuses(svc: Services) -> list[dict[str, Any]]:
    with transaction(svc, readonly=True) as tx:
        return [{"id": c.id, "code": c.code, "name": c.name}
                for c in tx.session.scalars(select(Campus).order_by(Campus.id))]


def modalities(svc: Services) -> list[dict[str, Any]]:
    with transaction(svc, readonly=True) as tx:
        return [{"code": m.code, "name": m.name} for m in tx.session.scalars(select(Modality).order_by(Modality.code))]


def rooms(svc: Services) -> list[dict[str, Any]]:
    with transaction(svc, readonly=True) as tx:
        return [{"id": r.id, "code": r.code, "name": r.name, "campus_id": r.campus_id, "modality": r.modality_code,
                 "location": r.location, "active": r.active}
                for r in tx.session.scalars(select(Room).order_by(Room.campus_id, Room.code))]


def queues(svc: Services) -> list[dict[str, Any]]:
    with transaction(svc, readonly=True) as tx:
        return [{"id": q.id, "code": q.code, "name": q.name, "prefix": q.prefix, "campus_id": q.campus_id,
                 "modality": q.modality_code, "active": q.active}
                for q in tx.session.scalars(select(Queue).order_by(Queue.campus_id, Queue.code))]
