"""Room placement of queue tickets (ultrasound auto-triage); the patient-flow services call these.

Until ultrasound dispatch configures a queue, a ticket keeps no room until a room calls it.
"""

from __future__ import annotations

from backend.db.models import QueueTicket
from backend.domain.actor import Actor
from backend.services.base import Tx


def place_ticket(tx: Tx, ticket: QueueTicket, actor: Actor) -> None:
    """Called in the check-in transaction right after a ticket is created or re-queued."""
    return None


def room_freed(tx: Tx, room_id: int, actor: Actor) -> None:
    """Called in the transaction where a room finishes an exam (capacity may have freed up)."""
    return None
