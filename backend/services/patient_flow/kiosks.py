"""Self check-in terminals: what a kiosk page and the check-in API need to know about one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import Campus, Queue, QueueTicket
from backend.db.models.kiosk import KioskTerminal
from backend.domain.actor import Actor
from backend.domain.checkin import TerminalFacts, terminal_scope
from backend.domain.errors import Forbidden, NotFound
from backend.domain.permissions import Perm
from backend.services import settings_store
from backend.services.base import Services, Tx, transaction

PROFILES = ("portrait", "landscape", "small")


def _terminal(tx: Tx, code: str) -> KioskTerminal:
    row = tx.session.scalars(select(KioskTerminal).where(KioskTerminal.code == code)).first()
    if row is None:
        raise NotFound(f"自助机不存在：{code}", code="unknown_terminal")
    return row


def terminal_facts(tx: Tx, code: str, *, by: Actor | None = None) -> TerminalFacts:
    """The rule's view of a kiosk; with `by`, refuse a caller that may not act as this kiosk."""
    row = _terminal(tx, code)
    if by is not None:
        _check_caller(row, by)
    qids = frozenset(tx.session.scalars(select(Queue.id).where(Queue.code.in_(row.queue_codes or [])))) \
        if row.queue_codes else frozenset()
    return TerminalFacts(code=row.code, campus_id=row.campus_id, queue_ids=qids, active=row.active)


def kiosk_actor(svc: Services, code: str) -> Actor:
    """The actor a kiosk page acts as in-process: the terminal itself, allowed to check in only."""
    with transaction(svc, readonly=True) as tx:
        row = _terminal(tx, code)
        return Actor(kind="kiosk", id=row.id, name=row.code, perms=frozenset({Perm.EXAM_OPERATE.value}))


def _check_caller(row: KioskTerminal, by: Actor) -> None:
    """A kiosk page acts only as itself; a kiosk bound to an API key accepts no other key (staff may act)."""
    if by.kind == "kiosk" and by.id != row.id:
        raise Forbidden("自助机身份不符", code="wrong_terminal_key")
    if by.kind == "api_key" and row.api_key_id is not None and by.id != row.api_key_id:
        raise Forbidden("该 API 密钥不属于此自助机", code="wrong_terminal_key")


def terminal_info(svc: Services, code: str) -> dict[str, Any]:
    """Display data of a kiosk page: name, campus, profile, idle timeout."""
    with transaction(svc, readonly=True) as tx:
        row = _terminal(tx, code)
        campus = tx.session.get(Campus, row.campus_id)
        q = select(Queue.modality_code).where(Queue.campus_id == row.campus_id, Queue.active.is_(True))
        if row.queue_codes:
            q = q.where(Queue.code.in_(row.queue_codes))
        return {"code": row.code, "name": row.name, "campus": campus.name if campus else "",
                "scope": terminal_scope(frozenset(tx.session.scalars(q))),
                "profile": row.display_profile if row.display_profile in PROFILES else "portrait",
                "active": row.active, "idle_seconds": int(settings_store.get_in(tx, "kiosk.idle_seconds"))}


def bind_key(svc: Services, code: str, raw_key: str, *, by: Actor) -> None:
    """Bind a kiosk to its own API key (admin); from then on only that key may act as this kiosk."""
    from backend.services import audit, auth

    by.require(Perm.ADMIN)
    key_actor = auth.actor_for_api_key(svc, raw_key)
    with transaction(svc) as tx:
        row = _terminal(tx, code)
        row.api_key_id = key_actor.id
        audit.record(tx, by, "update", "kiosk_terminal", row.id, api_key_id=key_actor.id)


def ticket_slip(svc: Services, ticket_id: int) -> dict[str, Any]:
    """What the printed slip shows: number, queue/room, people ahead, masked name, accession for the barcode."""
    from backend.db.models import Exam
    from backend.domain.masking import mask_name
    from backend.services.patient_flow import tickets

    with transaction(svc, readonly=True) as tx:
        ticket = tx.session.get(QueueTicket, ticket_id)
        exam = tx.session.get(Exam, ticket.exam_id) if ticket else None
        if ticket is None or exam is None:
            raise NotFound(f"排队号不存在：{ticket_id}", code="ticket_not_found")
        return {**tickets.ticket_dict(tx, ticket), "accession": exam.accession,
                "masked_name": mask_name(exam.patient.name), "people_ahead": tickets.ahead_of(tx, ticket),
                "checked_in": ticket.checked_in_at.astimezone(tx.tz).strftime("%Y-%m-%d %H:%M")}
