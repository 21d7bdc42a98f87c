"""Gap-free named counters (accession numbers per day, ticket numbers per queue per day)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.db.models import Counter
from backend.services.base import Tx


def next_value(tx: Tx, name: str) -> int:
    """Increment and return counter `name` inside the caller's transaction (row-locked)."""
    result = tx.session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with tx.session.begin_nested():
                tx.session.add(Counter(name=name, value=1))
            return 1
        except IntegrityError:
            # Another transaction created it first; increment theirs.
            tx.session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
    return int(tx.session.scalar(select(Counter.value).where(Counter.name == name)) or 0)
