"""Engines and units of work: each service call owns one transaction, committed once at the end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.domain.errors import InvalidInput

SessionFactory = sessionmaker[Session]


def make_engine(url: str, **kw: Any) -> Engine:
    """Create an engine; on SQLite turn on WAL, foreign keys and immediate write transactions."""
    # SQL errors would otherwise carry bound values (names, ID numbers) into the logs.
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kw)
        _tune_sqlite(engine)
    else:
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 20)
        kw.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kw)
    event.listen(engine, "before_cursor_execute", _refuse_nul_bytes)
    return engine


def _refuse_nul_bytes(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
    """The last guard behind the channels' own validation (backend/domain/text_input.py): PostgreSQL cannot
    store a NUL byte in text and SQLite would keep it, so no channel's forgotten check ever becomes a 500
    on one database and a stored \\x00 on the other."""
    rows = params if executemany else (params,)
    for row in rows:
        values = row.values() if isinstance(row, dict) else row if isinstance(row, list | tuple) else ()
        for value in values:
            if isinstance(value, str) and "\x00" in value:
                raise InvalidInput("输入含有空字符（NUL），已拒绝", code="invalid_text")


class _WriteGate:
    """One writer at a time per SQLite engine, queued in this process.

    SQLite lets one transaction write; the others' BEGIN IMMEDIATE wait in its busy handler, which sleeps
    and polls (1, 2, 5 ... 100 ms) instead of waking when the lock frees, so under a burst (fifty kiosks
    at once) a writer could wait seconds while the database sat idle. Writers of this process therefore
    first take this lock, held from BEGIN until the connection returns to the pool (after COMMIT or
    ROLLBACK) and handed straight to the next waiter. Other processes (a scheduler beside the web server)
    still meet SQLite's own busy handler, which stays the arbiter between processes.
    """

    FLAG = "radops_write_gate"

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._timeout = timeout

    def enter(self, info: dict[str, Any]) -> None:
        """Take the gate for the connection whose `info` this is (once, however often it begins)."""
        if info.get(self.FLAG) or self._owner == threading.get_ident():
            # The same connection beginning again, or a second connection of a thread already writing:
            # waiting here would wait on ourselves; SQLite's busy handler decides as it did before.
            return
        if self._lock.acquire(timeout=self._timeout):
            self._owner = threading.get_ident()
            info[self.FLAG] = True

    def leave(self, info: dict[str, Any]) -> None:
        if info.pop(self.FLAG, False):
            self._owner = None
            self._lock.release()


def _tune_sqlite(engine: Engine) -> None:
    gate = _WriteGate(timeout=30)

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
        if conn.get_execution_options().get("radops_readonly"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        gate.enter(conn.info)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.leave(conn.info)
            raise

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # Back in the pool means committed or rolled back (the pool resets on return): the next writer goes.
        gate.leave(record.info)


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(bind=engine, expire_on_commit=False)


class ReadOnlyViolation(RuntimeError):
    """A read-only unit of work tried to write: a programming error, never silently dropped."""


def _refuse_readonly_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("radops_readonly") and (session.new or session.dirty or session.deleted):
        raise ReadOnlyViolation("read-only unit of work tried to write")


event.listen(Session, "before_flush", _refuse_readonly_flush)  # every session, whoever made its factory


# Per-statement snapshots are all PostgreSQL's default READ COMMITTED gives a transaction anyway, so a
# read-only unit of work there runs in autocommit: no BEGIN and no ROLLBACK round trip per request.
_READONLY_OPTIONS: dict[str, dict[str, Any]] = {
    "sqlite": {"radops_readonly": True},
    "postgresql": {"radops_readonly": True, "isolation_level": "AUTOCOMMIT"},
}


@contextmanager
def unit_of_work(factory: SessionFactory, *, readonly: bool = False) -> Iterator[Session]:
    """Yield a session in a transaction: commit on success, roll back on any error.

    A read-only unit of work never writes: it does not autoflush, and a flush of pending changes raises
    ReadOnlyViolation (on PostgreSQL it would commit at once).
    """
    session = factory()
    try:
        if readonly:
            session.autoflush = False
            session.info["radops_readonly"] = True
            bind = session.get_bind()
            # Bound to a connection (tests join one outer transaction): it keeps its own transaction.
            options = _READONLY_OPTIONS.get(bind.dialect.name) if isinstance(bind, Engine) else None
            session.connection(execution_options=options or {"radops_readonly": True})
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


def dialect_insert(session: Session, model: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's dialect (SQLite or PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
