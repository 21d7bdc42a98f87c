"""Who is covered (CD-1): the system's roster kept in `cadre_roster` by a job, plus the patient's own flag."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, func, select

from backend.db.models import CadreRosterEntry, Patient
from backend.domain.cadre_health import CadreSource
from backend.ports.cadre_health import CoveredPerson
from backend.services import settings_store
from backend.services.base import Services, Tx, transaction

logger = logging.getLogger(__name__)
REFRESH_SETTING = "cadre.roster_refresh_min"


def refresh(svc: Services) -> dict[str, int] | None:
    """Replace the stored roster with the system's, when the refresh period has passed (the job)."""
    system = svc.ports.cadre_health
    if system is None:
        return None
    period = timedelta(minutes=int(settings_store.get(svc, REFRESH_SETTING)))
    with transaction(svc, readonly=True) as tx:
        last = tx.session.scalar(select(func.max(CadreRosterEntry.refreshed_at)))
        if last is not None and tx.now - last < period:
            return None
    return store(svc, system.covered_persons())


def store(svc: Services, people: list[CoveredPerson]) -> dict[str, int]:
    """Make the stored roster exactly `people` (the whole roster as the system lists it now)."""
    wanted = {p.id_no.upper(): p for p in people}
    with transaction(svc) as tx:
        rows = {r.id_no: r for r in tx.session.scalars(select(CadreRosterEntry))}
        gone = [i for i in rows if i not in wanted]
        if gone:
            tx.session.execute(delete(CadreRosterEntry).where(CadreRosterEntry.id_no.in_(gone)))
        for id_no, p in wanted.items():
            row = rows.get(id_no) or CadreRosterEntry(id_no=id_no)
            row.name, row.card_no, row.level, row.valid_until = p.name, p.card_no, p.level, p.valid_until
            row.refreshed_at = tx.now
            tx.session.add(row)
    logger.info("cadre-health roster: %d covered, %d removed", len(wanted), len(gone))
    return {"covered": len(wanted), "removed": len(gone)}


def covered_by(tx: Tx, patient: Patient) -> CadreSource | None:
    """Why the patient's exams go to the system (their ID card on the roster, else their flag), or None."""
    if patient.id_card:
        entry = tx.session.scalars(select(CadreRosterEntry).where(
            CadreRosterEntry.id_no == patient.id_card.upper())).first()
        today = tx.now.astimezone(tx.tz).date()
        if entry is not None and (entry.valid_until is None or entry.valid_until >= today):
            return CadreSource.ROSTER
    return CadreSource.FLAG if patient.cadre_health else None


def flagged_people(svc: Services, limit: int = 500) -> list[CoveredPerson]:
    """The patients flagged 保健对象 who have an ID card, as roster entries (the emulator's demo roster)."""
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(Patient).where(Patient.cadre_health.is_(True),
                                                        Patient.id_card.is_not(None)).limit(limit))
        return [CoveredPerson(id_no=p.id_card.upper(), name=p.name) for p in rows if p.id_card]
