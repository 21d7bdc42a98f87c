"""Shared helpers of the benchmark scripts: database URL defaults, figures as one JSON line each."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"


def default_url(name: str) -> str:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{BENCH_DIR / name}"


def normalize(url: str) -> str:
    """psycopg 3 is our PostgreSQL driver: accept the plain postgresql:// form too."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def free_port() -> int:
    """A free TCP port on loopback for a server the bench starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def emit(bench: str, **figures: Any) -> None:
    print(json.dumps({"bench": bench, **figures}, ensure_ascii=False), flush=True)


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return 0.0
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def db_size_mb(url: str) -> float:
    """The size of the database on disk (SQLite file plus WAL, or pg_database_size)."""
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return round(int(size or 0) / 2**20, 1)


def env_url() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL")
