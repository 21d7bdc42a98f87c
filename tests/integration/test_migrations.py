"""Migrations: `upgrade heads` builds the whole schema on an empty database and matches the models."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from backend.db.base import Base
from backend.db.migrate import alembic_config, check, upgrade
from backend.db.session import make_engine


def test_upgrade_on_empty_database_matches_models(fresh_db_url):
    # fresh_db_url is already migrated; running again must be a no-op, and check() finds no drift.
    upgrade(fresh_db_url)
    check(fresh_db_url)
    engine = make_engine(fresh_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_migration_history_has_one_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, f"merge the migration heads: {script.get_heads()}"
