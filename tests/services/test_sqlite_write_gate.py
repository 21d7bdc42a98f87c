"""SQLite writers of one process queue on the engine's write gate, which every way out of a transaction frees.

These use their own SQLite file whatever TEST_DATABASE_URL says: the gate exists only for SQLite engines.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from backend.db.session import make_engine, make_session_factory, unit_of_work


@pytest.fixture
def factory(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO n (id, v) VALUES (1, 0)"))
    yield make_session_factory(engine)
    engine.dispose()


def _value(factory) -> int:
    with unit_of_work(factory, readonly=True) as s:
        return int(s.execute(text("SELECT v FROM n WHERE id = 1")).scalar_one())


def _bump(factory) -> None:
    with unit_of_work(factory) as s:
        v = s.execute(text("SELECT v FROM n WHERE id = 1")).scalar_one()
        s.execute(text("UPDATE n SET v = :v WHERE id = 1"), {"v": v + 1})


def test_a_waiting_writer_goes_when_the_first_commits_and_readers_never_wait(factory):
    holding, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with unit_of_work(factory) as s:
            s.execute(text("UPDATE n SET v = v + 1 WHERE id = 1"))
            holding.set()
            release.wait(10)

    def second() -> None:
        _bump(factory)
        second_done.set()

    t1 = threading.Thread(target=first)
    t1.start()
    assert holding.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    assert not second_done.wait(0.3), "the second writer must wait while the first holds its transaction"
    assert _value(factory) == 0  # a reader is not blocked and sees the last committed value
    release.set()
    t1.join(10)
    assert second_done.wait(10)
    t2.join(10)
    assert _value(factory) == 2


def test_a_failed_write_frees_the_gate_for_the_next_writer(factory):
    def failing() -> None:
        with unit_of_work(factory) as s:
            s.execute(text("UPDATE n SET v = 99 WHERE id = 1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    done = threading.Event()
    t = threading.Thread(target=lambda: (_bump(factory), done.set()))
    t.start()
    assert done.wait(10), "the gate stayed closed after a rolled-back transaction"
    t.join(10)
    assert _value(factory) == 1  # the failed write left nothing behind


def test_an_invalidated_connection_frees_the_gate(factory):
    engine = factory.kw["bind"]
    conn = engine.connect()
    conn.begin()
    conn.execute(text("UPDATE n SET v = 5 WHERE id = 1"))
    conn.invalidate()
    conn.close()
    done = threading.Event()
    t = threading.Thread(target=lambda: (_bump(factory), done.set()))
    t.start()
    assert done.wait(10), "the gate stayed closed after the connection was invalidated"
    t.join(10)
    assert _value(factory) == 1


def test_one_connection_may_begin_again_and_a_writer_may_read_meanwhile(factory):
    engine = factory.kw["bind"]
    with engine.connect() as conn:
        for _ in range(3):  # commit and begin again on the same checked-out connection
            with conn.begin():
                conn.execute(text("UPDATE n SET v = v + 1 WHERE id = 1"))
                assert _value(factory) in (0, 1, 2)  # a read-only unit of work in the writing thread
    assert _value(factory) == 3


def test_concurrent_read_modify_write_loses_no_update(factory):
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(25):
                _bump(factory)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _value(factory) == 200
