"""One exam for the detail dialog: its fields plus its timeline with Chinese labels and staff names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import ApiKey, Room, User
from backend.domain.actor import Actor
from backend.domain.catalog import TIMELINE_LABELS
from backend.domain.dispatch import PLACEMENT_KINDS, TICKET_TIMELINE_LABELS, placement_text
from backend.services import timeline
from backend.services.base import Services, transaction
from backend.services.health_cloud.ledger import exam_cloud_text
from backend.services.orders import exam_list


def _who(svc: Services, labels: set[str]) -> dict[str, str]:
    """Display names for actor labels such as "user:3" and "api_key:1"."""
    ids: dict[str, set[int]] = {"user": set(), "api_key": set()}
    for label in labels:
        kind, _, raw = label.partition(":")
        if kind in ids and raw.isdigit():
            ids[kind].add(int(raw))
    names = {"system": "系统"}
    with transaction(svc, readonly=True) as tx:
        if ids["user"]:
            for uid, name in tx.session.execute(select(User.id, User.display_name).where(User.id.in_(ids["user"]))):
                names[f"user:{uid}"] = name
        if ids["api_key"]:
            for kid, name in tx.session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(ids["api_key"]))):
                names[f"api_key:{kid}"] = f"接口 {name}"
    return names


def _room_names(svc: Services) -> dict[int, str]:
    with transaction(svc, readonly=True) as tx:
        return {int(i): str(n) for i, n in tx.session.execute(select(Room.id, Room.name))}


def detail(svc: Services, exam_id: int, *, by: Actor) -> dict[str, Any]:
    """The exam (audited read, needs exam.read) and its timeline, oldest first, times in the site zone."""
    exam = exam_list.get_exam(svc, by=by, exam_id=exam_id)
    events = timeline.events_of(svc, exam_id)
    names = _who(svc, {e["actor"] for e in events})
    tz = svc.tz
    rooms = _room_names(svc)
    for e in events:
        e["label"] = TIMELINE_LABELS.get(e["kind"]) or TICKET_TIMELINE_LABELS.get(e["kind"], e["kind"])
        # Why the patient went there, in Chinese with the room names (issue 15 item 10).
        e["note"] = placement_text(e["kind"], e["details"] or {}, rooms) if e["kind"] in PLACEMENT_KINDS else ""
        e["who"] = names.get(e["actor"], e["actor"])
        e["at_local"] = datetime.fromisoformat(e["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return {"exam": exam, "events": events, "cloud": exam_cloud_text(svc, exam_id)}
