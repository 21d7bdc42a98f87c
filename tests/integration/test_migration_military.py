"""Migration 0022_military: patients registered before it get military = false; downgrade drops the column."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from backend.db.migrate import alembic_config, check, upgrade
from backend.db.session import make_engine


def _columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("patients")}
    finally:
        engine.dispose()


def test_military_column_upgrade_fills_existing_rows_and_downgrade_removes_it(fresh_db_url):
    command.downgrade(alembic_config(fresh_db_url), "0021_cadre")
    assert "military" not in _columns(fresh_db_url)
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patients (mrn, name, sex, cadre_health, created_at) "
                              "VALUES ('MIG0022', '旧患者', 'F', true, CURRENT_TIMESTAMP)"))
    finally:
        engine.dispose()
    upgrade(fresh_db_url)
    check(fresh_db_url)  # the model and the migration agree (server default included)
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT military, cadre_health FROM patients WHERE mrn = 'MIG0022'")).one()
            conn.execute(text("INSERT INTO patients (mrn, name, sex, cadre_health, created_at) "
                              "VALUES ('MIG0023', '新患者', 'M', false, CURRENT_TIMESTAMP)"))
            fresh = conn.execute(text("SELECT military FROM patients WHERE mrn = 'MIG0023'")).scalar_one()
            conn.rollback()
    finally:
        engine.dispose()
    assert (bool(row[0]), bool(row[1])) == (False, True)  # the old row kept its data and got false
    assert bool(fresh) is False  # a raw insert that names no flag gets false
    command.downgrade(alembic_config(fresh_db_url), "0021_cadre")
    assert "military" not in _columns(fresh_db_url)
    upgrade(fresh_db_url)
    assert "military" in _columns(fresh_db_url)
