"""Units of work: a read-only one never writes, and the connection it used is an ordinary one afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db.models import Patient
from backend.db.session import ReadOnlyViolation, make_engine, make_session_factory, unit_of_work
from backend.services.base import transaction
from tests.conftest import FIXED_NOW
from tests.helpers import register


def _name(svc, mrn: str) -> str:
    with transaction(svc, readonly=True) as tx:
        return str(tx.session.scalars(select(Patient.name).where(Patient.mrn == mrn)).one())


def test_a_read_only_unit_of_work_refuses_to_flush_a_change(svc, actors):
    register(svc, actors["clerk"], mrn="UW0001", name="李明")
    with pytest.raises(ReadOnlyViolation), transaction(svc, readonly=True) as tx:  # noqa: PT012
        patient = tx.session.scalars(select(Patient).where(Patient.mrn == "UW0001")).one()
        patient.name = "改名"
        tx.session.flush()
    assert _name(svc, "UW0001") == "李明"


def test_a_change_in_a_read_only_unit_of_work_is_never_written_by_a_later_query(svc, actors):
    register(svc, actors["clerk"], mrn="UW0002", name="王刚")
    with transaction(svc, readonly=True) as tx:
        patient = tx.session.scalars(select(Patient).where(Patient.mrn == "UW0002")).one()
        patient.name = "改名"
        tx.session.scalars(select(Patient.id).where(Patient.mrn == "UW0002")).one()  # no autoflush
    assert _name(svc, "UW0002") == "王刚"


def test_the_pooled_connection_writes_transactionally_after_a_read_only_use(fresh_db_url):
    """On PostgreSQL a read-only unit of work runs in autocommit; the pool must hand the connection back
    to the next writer in its ordinary mode, where a failure rolls everything back."""
    engine = make_engine(fresh_db_url, pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory, readonly=True) as s:
            first = s.scalars(select(Patient.mrn).limit(1)).all()
        with pytest.raises(RuntimeError), unit_of_work(factory) as s:  # noqa: PT012
            s.add(Patient(mrn="UW0003", name="赵丽", sex="F", cadre_health=False, created_at=FIXED_NOW))
            s.flush()
            raise RuntimeError("the write fails after its first statement")
        with unit_of_work(factory, readonly=True) as s:
            assert s.scalars(select(Patient.id).where(Patient.mrn == "UW0003")).first() is None
            assert s.scalars(select(Patient.mrn).limit(1)).all() == first
    finally:
        engine.dispose()
