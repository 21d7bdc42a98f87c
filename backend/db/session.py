"""Engines and units of work: each service call owns one transaction, committed once at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def make_engine(url: str, **kw: Any) -> Engine:
    """Create an engine; on SQLite turn on WAL, foreign keys and immediate write transactions."""
    # SQL errors would otherwise carry bound values (names, ID numbers) into the logs.
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kw)
        _tune_sqlite(engine)
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, **kw)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is turned off so that we can choose the BEGIN kind.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail at once with "database is
        # locked" instead of waiting; writers therefore take the lock up front. Read-only units
        # of work ask for a deferred BEGIN so that readers never queue behind writers (WAL).
        kind = "DEFERRED" if conn.get_execution_options().get("radops_readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {kind}")


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: SessionFactory, *, readonly: bool = False) -> Iterator[Session]:
    """Yield a session in a transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        if readonly:
            session.connection(execution_options={"radops_readonly": True})
        yield session
        if readonly:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
