"""Fast bulk loading for the history seed: sqlite3 executemany or PostgreSQL COPY, with times pre-formatted.

Rows are plain tuples whose times are already strings in the database's own format (see `TimeFormat`), so
no per-value bind processing runs: tens of millions of rows load in minutes rather than hours.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)
EPOCH_DAY = date(1970, 1, 1)
# Tables the history writes in bulk; their secondary indexes may be dropped during a large load.
BULK_TABLES = ("patients", "exams", "exam_events", "reports", "report_versions", "critical_values",
               "queue_tickets")


class TimeFormat:
    """Epoch seconds (UTC) to the text each database stores for an aware UTC timestamp."""

    def __init__(self, dialect: str) -> None:
        suffix = ".000000" if dialect == "sqlite" else "+00"
        hms = [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]
        days: dict[int, str] = {}

        def fmt(ts: int | None) -> str | None:
            if ts is None:
                return None
            d, s = divmod(ts, 86400)
            day = days.get(d)
            if day is None:
                day = days[d] = (EPOCH_DAY + timedelta(days=d)).isoformat()
            return day + hms[s]

        self.fmt = fmt

    def __call__(self, ts: int | None) -> str | None:
        return self.fmt(ts)

    @staticmethod
    def parse(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC)


class _Buffers:
    """Rows buffered per declared table, handed on in batches, parents before children (declaration order)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.columns: dict[str, tuple[str, ...]] = {}
        self.buffers: dict[str, list[tuple[Any, ...]]] = {}

    def declare(self, table: str, columns: Sequence[str]) -> None:
        self.columns[table] = tuple(columns)
        self.buffers.setdefault(table, [])

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= self.batch:
            self.flush(table)

    def maybe_flush(self) -> None:
        """Flush when any buffer filled up (writers append to `buffers` directly in hot loops)."""
        if any(len(b) >= self.batch for b in self.buffers.values()):
            self.flush()

    def flush(self, table: str | None = None) -> None:
        """Hand on buffered rows: every table declared before `table` too (parents before children)."""
        names = list(self.columns)
        if table is not None:
            names = names[: names.index(table) + 1]
        for name in names:
            rows = self.buffers[name]
            if rows:
                self._emit(name, rows)
                rows.clear()  # the same list object stays the table's buffer (writers keep a reference)

    def _emit(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class BulkLoader(_Buffers):
    """Buffers rows per table and writes them in large batches on one raw connection."""

    def __init__(self, engine: Engine, *, batch: int = 50_000) -> None:
        super().__init__(batch)
        self.engine = engine
        self.dialect = engine.dialect.name
        self.written: dict[str, int] = {}
        self.raw: Any = engine.raw_connection()
        self._begin()

    def _begin(self) -> None:
        cur = self.raw.cursor()
        if self.dialect == "sqlite":
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("BEGIN")
        else:
            cur.execute("SET synchronous_commit = off")
            try:  # skip per-row foreign-key triggers during the load (needs superuser; optional)
                cur.execute("SET session_replication_role = replica")
            except Exception:  # a plain role may not do this: load with checks on
                self.raw.rollback()
                cur = self.raw.cursor()
                cur.execute("SET synchronous_commit = off")
        cur.close()

    def declare(self, table: str, columns: Sequence[str]) -> None:
        super().declare(table, columns)
        self.written.setdefault(table, 0)

    def _emit(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        self._write(table, self.columns[table], rows)
        self.written[table] += len(rows)

    def _write(self, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        cur = self.raw.cursor()
        if self.dialect == "sqlite":
            marks = ",".join("?" * len(cols))
            cur.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})", rows)
        else:
            with cur.copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cur.close()

    def commit(self) -> None:
        self.flush()
        if self.dialect == "sqlite":
            self.raw.cursor().execute("COMMIT")
            self.raw.cursor().execute("BEGIN")
        else:
            self.raw.commit()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self.raw.cursor()
        if self.dialect != "sqlite":
            sql = sql.replace("?", "%s")
        cur.execute(sql, params)
        return cur

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cur = self.raw.cursor()
        cur.executemany(sql if self.dialect == "sqlite" else sql.replace("?", "%s"), rows)
        cur.close()

    def close(self) -> None:
        self.commit()
        cur = self.raw.cursor()
        if self.dialect == "sqlite":
            cur.execute("COMMIT")
            cur.execute("PRAGMA foreign_keys=ON")
        else:
            cur.execute("SET session_replication_role = DEFAULT")
            self.raw.commit()
        cur.close()
        self.raw.close()


def drop_secondary_indexes(engine: Engine, tables: Sequence[str] = BULK_TABLES) -> list[tuple[str, str]]:
    """Drop the plain (non-unique) indexes of `tables`; return their exact DDL to rebuild them after the load."""
    if engine.dialect.name == "postgresql":
        sql = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
               "AND tablename = :t ORDER BY indexname")
    else:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    dropped = []
    with engine.begin() as conn:
        for table in tables:
            for name, ddl in conn.execute(text(sql), {"t": table}).all():
                if " UNIQUE " in f" {ddl.upper()} ":
                    continue
                conn.execute(text(f'DROP INDEX "{name}"'))
                dropped.append((str(name), str(ddl)))
    return dropped


def create_indexes(engine: Engine, indexes: Sequence[tuple[str, str]]) -> None:
    """Rebuild the indexes dropped by `drop_secondary_indexes`, from their own DDL."""
    with engine.begin() as conn:
        for _name, ddl in indexes:
            conn.execute(text(ddl))


def finish_load(engine: Engine, tables: Sequence[str]) -> None:
    """After a load: move PostgreSQL id sequences past the ids we wrote; refresh planner statistics."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in tables:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
                conn.execute(text(f"ANALYZE {table}"))
        else:
            conn.execute(text("ANALYZE"))


class PipeSink(_Buffers):
    """The BulkLoader interface for a generating child process: batches go to the loading parent over a queue.

    On two cores generation (Python) and loading (the database) then run side by side.
    """

    def __init__(self, queue: Any, *, batch: int = 50_000) -> None:
        super().__init__(batch)
        self.queue = queue

    def declare(self, table: str, columns: Sequence[str]) -> None:
        super().declare(table, columns)
        self.queue.put(("declare", table, tuple(columns)))

    def _emit(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        self.queue.put(("rows", table, rows[:]))

    def commit(self) -> None:
        self.flush()
        self.queue.put(("commit",))


def drain(queue: Any, loader: BulkLoader, *, timeout: float = 900) -> Any:
    """Write what a PipeSink sends until its ("result", result); re-raise a failure of the child."""
    while True:
        msg = queue.get(timeout=timeout)
        if msg[0] == "rows":
            loader.buffers[msg[1]].extend(msg[2])
            loader.flush(msg[1])
        elif msg[0] == "declare":
            loader.declare(msg[1], msg[2])
        elif msg[0] == "commit":
            loader.commit()
        elif msg[0] == "result":
            return msg[1]
        else:
            raise RuntimeError(f"history generation failed in the child process:\n{msg[1]}")
