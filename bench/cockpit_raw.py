"""The cockpit's figures computed straight from the raw tables (exam_events, exams, critical_values) with
plain SQL, on the live database or on DuckDB holding copies of the same rows: the bench's baselines."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from backend.db.base import TZDateTime
from backend.domain.critical import notified_within
from backend.domain.metrics import Window, day_window, last_days, month_window, month_windows, same_period_last_year

FLOW = ("ordered", "started", "report_approved")


def windows(as_of: datetime, tz: ZoneInfo) -> dict[str, Window]:
    month = month_window(as_of, tz)
    out = {"month": month, "month_ly": same_period_last_year(month, tz)}
    for i, w in enumerate(month_windows(as_of, tz, 6)):
        out[f"m{i}"], out[f"l{i}"] = w, same_period_last_year(w, tz)
    for i, w in enumerate(last_days(as_of, tz, 7)):
        out[f"d{i}"] = w
    return out


def _cases(names: list[str], col: str) -> str:
    return ", ".join(f"SUM(CASE WHEN {col} >= :{n}_s AND {col} <= :{n}_e THEN 1 ELSE 0 END) AS {n}" for n in names)


APPROVAL_WINDOWS = ["month", "month_ly", *[f"m{i}" for i in range(6)], *[f"l{i}" for i in range(6)]]
DAY_WINDOWS = [f"d{i}" for i in range(7)]
APPT_WINDOWS = [f"a{i}" for i in range(7)]  # appointments count on whole days (the appointment's day)
APPROVALS = f"""
WITH f AS (SELECT exam_id, MIN("at") AS t FROM exam_events WHERE kind = 'report_approved' GROUP BY exam_id)
SELECT x.modality_code, x.category, {_cases(APPROVAL_WINDOWS, 'f.t')}
FROM f JOIN exams x ON x.id = f.exam_id WHERE f.t >= :l0_s AND f.t <= :as_of
GROUP BY x.modality_code, x.category"""
FLOWS = f"""
WITH f AS (SELECT exam_id, kind, MIN("at") AS t FROM exam_events
           WHERE kind IN ('ordered', 'started', 'report_approved') GROUP BY exam_id, kind)
SELECT f.kind, x.patient_class, {_cases(DAY_WINDOWS, 'f.t')}
FROM f JOIN exams x ON x.id = f.exam_id WHERE f.t >= :d0_s AND f.t <= :as_of
GROUP BY f.kind, x.patient_class"""
APPOINTMENTS = f"""
SELECT x.patient_class, x.category, x.modality_code, {_cases(APPT_WINDOWS, 'x.scheduled_at')}
FROM exams x WHERE x.scheduled_at >= :d0_s AND x.scheduled_at <= :day_end AND x.status <> 'cancelled'
  AND EXISTS (SELECT 1 FROM exam_events e WHERE e.exam_id = x.id AND e.kind = 'scheduled' AND e."at" <= :as_of)
GROUP BY x.patient_class, x.category, x.modality_code"""
CRITICAL = "SELECT raised_at, notified_at FROM critical_values WHERE raised_at >= :s AND raised_at <= :e"
WAITS = """SELECT exam_id, kind, \"at\" FROM exam_events
WHERE kind IN ('checked_in', 'check_in_undone', 'started', 'cancelled') AND "at" >= :s AND "at" <= :e
ORDER BY "at", id"""


class SqlRaw:
    """Plain SQL on the application database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, tz: ZoneInfo) -> None:
        self.engine, self.tz = engine, tz

    def _params(self, as_of: datetime) -> dict[str, Any]:
        p: dict[str, Any] = {"as_of": as_of}
        for name, w in windows(as_of, self.tz).items():
            p[f"{name}_s"], p[f"{name}_e"] = w.start, w.end
        for i, w in enumerate(last_days(as_of, self.tz, 7)):
            p[f"a{i}_s"], p[f"a{i}_e"] = w.start, day_window(w.start_day, self.tz).end
        p["day_end"] = p["a6_e"]
        return p

    def _run(self, conn: Any, sql: str, params: dict[str, Any]) -> list[Any]:
        names = [n for n in params if f":{n}" in sql]
        stmt = text(sql).bindparams(*[bindparam(n, type_=TZDateTime()) for n in names])
        return list(conn.execute(stmt, {n: params[n] for n in names}))

    def figures(self, as_of: datetime) -> dict[str, Any]:
        p = self._params(as_of)
        with self.engine.connect() as conn:
            return self._assemble(as_of, p, lambda sql, params: self._run(conn, sql, params))

    def _assemble(self, as_of: datetime, p: dict[str, Any], run: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"approvals": {}, "flows": {}, "appointments": {}}
        for mod, cat, *counts in run(APPROVALS, p):
            out["approvals"][(mod, cat)] = [int(c or 0) for c in counts]
        for kind, cls, *counts in run(FLOWS, p):
            out["flows"][(kind, cls)] = [int(c or 0) for c in counts]
        for cls, cat, mod, *counts in run(APPOINTMENTS, p):
            out["appointments"][(cls, cat, mod)] = [int(c or 0) for c in counts]
        limit = timedelta(minutes=10)
        for key, (s, e) in {"critical": ("month_s", "month_e"), "critical_ly": ("month_ly_s", "month_ly_e")}.items():
            rows, end = run(CRITICAL, {"s": p[s], "e": p[e]}), _aware(p[e])
            out[key] = (len(rows), sum(notified_within(_aware(r), _aware(n) if n and _aware(n) <= end else None,
                                                       limit) for r, n in rows))
        out["wait_rows"] = len(run(WAITS, {"s": p["d6_s"], "e": as_of}))
        return out

    def matches(self, figs: dict[str, Any], raw: dict[str, Any]) -> bool:
        """Check the raw computation against the service's figures (CT/MR months, trends, flows, critical)."""
        def total(mod: str, idx: int) -> int:
            return sum(v[idx] for (m, _), v in raw["approvals"].items() if m == mod)

        ok = figs["CP-1"]["value"] == total("CT", 0) and figs["CP-2"]["last_year"] == total("MR", 1)
        ok &= figs["CP-11"]["this_year"] == [total("CT", 2 + i) for i in range(6)]
        ok &= figs["CP-12"]["last_year"] == [total("MR", 8 + i) for i in range(6)]
        for fig, cls in (("CP-13", "outpatient"), ("CP-14", "inpatient")):
            for kind in FLOW:
                ok &= figs[fig]["series"][kind] == raw["flows"].get((kind, cls), [0] * 7)
            appt = [sum(v[i] for (c, _, _), v in raw["appointments"].items() if c == cls) for i in range(7)]
            ok &= figs[fig]["series"]["appointment"] == appt
        ok &= (figs["CP-8"]["total"], figs["CP-8"]["within"]) == raw["critical"]
        return bool(ok)


def _aware(v: Any) -> datetime:
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v


class DuckRaw(SqlRaw):
    """The same SQL on DuckDB (in memory) holding copies of the three raw tables."""

    def __init__(self, engine: Engine, *, tz: ZoneInfo) -> None:
        super().__init__(engine, tz=tz)
        import duckdb

        self.con = duckdb.connect()

    def load(self) -> float:
        """Copy the raw tables into DuckDB; returns the seconds it took (not part of the timings)."""
        import pandas as pd

        t = time.perf_counter()
        tables = {"exams": "SELECT id, modality_code, category, patient_class, status, scheduled_at FROM exams",
                  "exam_events": 'SELECT id, exam_id, kind, "at" FROM exam_events',
                  "critical_values": "SELECT raised_at, notified_at FROM critical_values"}
        with self.engine.connect() as conn:
            for name, sql in tables.items():
                first = True
                for chunk in pd.read_sql_query(text(sql), conn, chunksize=2_000_000):
                    for col in ("scheduled_at", "at", "raised_at", "notified_at"):
                        if col in chunk:
                            chunk[col] = pd.to_datetime(chunk[col], utc=True, format="mixed").dt.tz_localize(None)
                    self.con.register("chunk", chunk)
                    self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM chunk" if first
                                     else f"INSERT INTO {name} SELECT * FROM chunk")
                    self.con.unregister("chunk")
                    first = False
        return round(time.perf_counter() - t, 1)

    def figures(self, as_of: datetime) -> dict[str, Any]:
        p = {k: v.astimezone(UTC).replace(tzinfo=None) for k, v in self._params(as_of).items()}

        def run(sql: str, params: dict[str, Any]) -> list[Any]:
            naive = {k: (v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v) for k, v in params.items()}
            names = [n for n in naive if f":{n}" in sql]
            q = sql
            for n in sorted(names, key=len, reverse=True):
                q = q.replace(f":{n}", f"${n}")
            return self.con.execute(q, {n: naive[n] for n in names}).fetchall()

        return self._assemble(as_of.astimezone(UTC).replace(tzinfo=None), p, run)
