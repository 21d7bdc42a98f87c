"""Gap-free named counters (accession numbers per day, ticket numbers per queue per day)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from backend.db.models import Counter
from backend.services.base import Tx


def next_value(tx: Tx, name: str) -> int:
    """Increment and return counter `name` inside the caller's transaction (row-locked)."""
    bump = update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    value = tx.session.scalar(bump)  # one round trip: the increment answers the new value (RETURNING)
    if value is None:
        try:
            with tx.session.begin_nested():
                tx.session.add(Counter(name=name, value=1))
            return 1
        except IntegrityError:
            # Another transaction created it first; increment theirs.
            value = tx.session.scalar(bump)
    return int(value or 0)
