"""DICOMweb speed (issue 10): QIDO-RS study searches on an index of 50,000 studies, and rendered 512 x 512
CT frames, through the whole Flask app (key check, query, DICOM JSON or JPEG, audit). Targets: QIDO p95 <
50 ms, rendered frame p95 < 50 ms. Wall and process-CPU times are both given: on a shared 2-core machine
the wall time includes waiting for a core.

The 50,000 studies (one series each) are written straight into the index tables (QIDO reads only the
index); one real 4-slice 512 x 512 JPEG-LS chest CT is stored through `archive.store_instance` for the
frames.
    .venv/bin/python bench/bench_dicomweb.py [--database-url postgresql://...] [--studies 50000] [--runs 200]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from _common import default_url, emit, normalize, percentile

MODALITIES = ["CT", "CT", "CT", "MR", "DX", "DX", "MG", "US"]


def _database(url: str | None, studies: int) -> str:
    from sqlalchemy import create_engine, insert, text

    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.db.models import ImagingSeries, ImagingStudy
    from backend.seed.reference import seed_reference

    if url is None:
        path = Path(default_url("dicomweb.db").split("///", 1)[1])
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        url = f"sqlite:///{path}"
    url = normalize(url)
    upgrade(url)
    seed_reference(Settings(database_url=url), seed=1, now=datetime(2026, 11, 27, tzinfo=UTC))
    engine = create_engine(url)
    rng = random.Random(10)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM imaging_series"))
        conn.execute(text("DELETE FROM imaging_studies"))
        rows, series = [], []
        for i in range(1, studies + 1):
            day = date(2024, 1, 1) + timedelta(days=rng.randrange(3 * 365))
            modality = rng.choice(MODALITIES)
            rows.append({"study_uid": f"1.2.826.0.1.3680043.10.99.{i}", "exam_id": None, "match": "unmatched",
                         "accession": f"BA{i:08d}", "patient_id": f"BP{rng.randrange(studies // 3):07d}",
                         "patient_name": f"BENCH^{i}", "patient_sex": "MF"[i % 2], "patient_birth_date": None,
                         "study_date": day, "study_time": "093000", "study_id": "1", "description": f"{modality} 检查",
                         "referring_physician": "", "modalities": modality, "series_count": 1,
                         "instance_count": 100, "size_bytes": 50_000_000, "received_from": "CT01",
                         "first_received_at": now, "last_received_at": now, "received_at": now})
            series.append({"study_id": i, "series_uid": f"1.2.826.0.1.3680043.10.99.{i}.1",
                           "modality": modality, "series_number": 1, "description": "", "body_part": "",
                           "instance_count": 100, "size_bytes": 50_000_000, "first_received_at": now,
                           "last_received_at": now, "completed_at": now})
        conn.execute(insert(ImagingStudy), rows)
        ids = dict(conn.execute(text("SELECT study_uid, id FROM imaging_studies")).all())
        for row, s in zip(rows, series, strict=True):
            s["study_id"] = ids[row["study_uid"]]
        conn.execute(insert(ImagingSeries), series)
    if url.startswith("postgresql"):  # what autovacuum does on a running server
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE imaging_studies"))
            conn.execute(text("ANALYZE imaging_series"))
    engine.dispose()
    emit("dicomweb_index_fill", studies=studies, seconds=round(time.perf_counter() - t0, 1))
    return url


def _app(url: str, var: Path) -> tuple[Any, str, Any]:
    from backend.app import create_app
    from backend.config import Settings
    from backend.domain.actor import SYSTEM
    from backend.services import auth

    app = create_app(Settings(database_url=url, secret_key="bench-secret", start_scheduler=False, var_dir=var))
    svc = app.extensions["radops"]
    return app, auth.create_api_key(svc, "bench-dicomweb", ["image.read"], by=SYSTEM), svc


def _ct(svc: Any) -> list[Any]:
    """Four 512 x 512 slices of the synthetic chest CT (JPEG-LS lossless), stored through the archive."""
    from backend.dicom.synthetic import UID_ROOT, example_patients
    from backend.dicom.synthetic.ct import CtStudy, chest_ct_studies
    from backend.dicom.synthetic.phantom import ChestPhantom
    from backend.dicom.tags import header_of
    from backend.services.imaging import archive

    patient = example_patients(1)[0]
    phantom = ChestPhantom(3, patient.key.patient_id)
    z = phantom.current[0].center[2]
    (instances,) = chest_ct_studies(phantom, [CtStudy(patient.key, patient.study, "current")], uid_root=UID_ROOT,
                                    z_range=(z + 2.0, z - 3.0))
    lung = [d for d in instances if d.SeriesNumber == 2]
    for ds in lung:
        buf = BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        archive.store_instance(svc, header_of(ds, transfer_syntax=str(ds.file_meta.TransferSyntaxUID)),
                               buf.getvalue(), received_from="CT01")
    return lung


def _timed(client: Any, key: str, path: str, query: dict[str, Any] | None = None,
           accept: str = "application/dicom+json") -> tuple[float, float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    resp = client.get(path, query_string=query or {}, headers={"X-API-Key": key, "Accept": accept})
    body = resp.get_data()
    wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    if resp.status_code != 200:
        raise SystemExit(f"{path} {query}: {resp.status_code} {body[:300]!r}")
    return wall, cpu, resp


def _stats(walls: list[float], cpus: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(walls, 50), 1), "p95_ms": round(percentile(walls, 95), 1),
            "p99_ms": round(percentile(walls, 99), 1), "cpu_p50_ms": round(percentile(cpus, 50), 1),
            "cpu_p95_ms": round(percentile(cpus, 95), 1)}


def _qido(client: Any, key: str, studies: int, runs: int) -> None:
    rng = random.Random(11)
    cases = {
        "patient_id": lambda: {"PatientID": f"BP{rng.randrange(studies // 3):07d}"},
        "accession": lambda: {"AccessionNumber": f"BA{rng.randrange(1, studies):08d}"},
        "date_range_month": lambda: {"StudyDate": _month(rng), "limit": 100},
        "modality_date_range": lambda: {"ModalitiesInStudy": "CT", "StudyDate": _month(rng), "limit": 100},
        "patient_wildcard_date": lambda: {"PatientID": f"BP{rng.randrange(studies // 30):06d}*",
                                          "StudyDate": "20250101-20261231"},
    }
    for name, make in cases.items():
        walls, cpus, found = [], [], 0
        for _ in range(runs):
            wall, cpu, resp = _timed(client, key, "/dicomweb/studies", make())
            walls.append(wall)
            cpus.append(cpu)
            found += len(resp.get_json() if resp.is_json else __import__("json").loads(resp.get_data()))
        emit(f"dicomweb_qido_{name}", studies=studies, runs=runs, mean_found=round(found / runs, 1),
             **_stats(walls, cpus))


def _month(rng: random.Random) -> str:
    start = date(2024, 1, 1) + timedelta(days=rng.randrange(3 * 365 - 31))
    return f"{start:%Y%m%d}-{start + timedelta(days=30):%Y%m%d}"


def _rendered(client: Any, key: str, svc: Any, lung: list[Any], runs: int) -> None:
    paths = [f"/dicomweb/studies/{d.StudyInstanceUID}/series/{d.SeriesInstanceUID}/instances/{d.SOPInstanceUID}"
             f"/rendered" for d in lung]
    rng = random.Random(12)
    for name, clear, fmt in (("uncached_jpeg", "all", "image/jpeg"), ("new_window_jpeg", "rendered", "image/jpeg"),
                             ("new_window_png", "rendered", "image/png"), ("cached_jpeg", None, "image/jpeg")):
        walls, cpus, size = [], [], 0
        for i in range(runs):
            if clear == "all":
                svc.cache.pop("imaging.frames", None)
                svc.cache.pop("imaging.rendered", None)
            window = f"{rng.randrange(-800, 400)},{rng.randrange(300, 2000)}" if clear else "-600,1500"
            wall, cpu, resp = _timed(client, key, paths[i % len(paths)], {"window": window}, accept=fmt)
            walls.append(wall)
            cpus.append(cpu)
            size += len(resp.get_data())
        emit(f"dicomweb_rendered_512_{name}", runs=runs, mean_kb=round(size / runs / 1024, 1), **_stats(walls, cpus))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url")
    ap.add_argument("--studies", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=200)
    ns = ap.parse_args()
    url = _database(ns.database_url, ns.studies)
    with tempfile.TemporaryDirectory() as var:
        app, key, svc = _app(url, Path(var))
        lung = _ct(svc)
        client = app.test_client()
        _timed(client, key, "/dicomweb/studies", {"limit": 1})  # warm up the app
        _qido(client, key, ns.studies, ns.runs)
        _rendered(client, key, svc, lung, ns.runs)


if __name__ == "__main__":
    main()
