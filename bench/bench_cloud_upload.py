"""Upload of a 300-slice 512×512 CT series (~158 MB, made here) to the health cloud emulator, against a plain
HTTP upload of the same files to a bare server, side by side in the same run (HC-5, HC-6). Both servers run
in their own process on loopback; both uploads read the files from disk through one httpx.Client.

Ours is timed in two steps: registration (the files' SHA-256 for the index, 注册入库), then the upload
(opening the uploads, every file signed and sent as chunks, each checked by the cloud against its SHA-256).
The target is on the upload step; the two steps together are printed too. Like the bare server, the
emulator keeps no bytes here (--no-store-bytes): both read every byte and drop it. The cloud must verify
each byte's SHA-256, so a second bare server that does only that is timed as well (plain_http_sha256):
the gap between it and the emulator is what the protocol itself costs. The upload runs with one worker
and with `--workers` parallel uploads (the upload job's setting). One JSON line per figure; medians over
interleaved rounds.

    .venv/bin/python bench/bench_cloud_upload.py --slices 300 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import ROOT, emit, free_port

TARGET_RATIO = 0.8
APP_ID, SECRET, HOSPITAL = "bench-app", "bench-secret", "H33010001"


def make_series(folder: Path, slices: int) -> list[Path]:
    """CT Image Storage objects, 16-bit 512×512, a phantom with noise, uncompressed (~513 KiB each)."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(3)
    y, x = np.mgrid[-256:256, -256:256]
    body = ((x**2 + y**2) < 220**2).astype(np.int32) * 1040
    study, series_uid = generate_uid(), generate_uid()
    paths = []
    for i in range(slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.PatientName, ds.PatientID, ds.AccessionNumber = "BENCH^CT", "P0001", "CT2026112701"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, series_uid, "CT"
        ds.InstanceNumber, ds.ImagePositionPatient, ds.SliceThickness = i + 1, [0, 0, -i * 1.25], 1.25
        ds.Rows = ds.Columns = 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = (body + rng.integers(0, 60, body.shape)).astype("<u2").tobytes()
        path = folder / f"CT{i + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


class _Bare(BaseHTTPRequestHandler):
    """Reads each body and answers 200; with `verify`, also takes its SHA-256 as the body arrives."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    verify = False

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_PUT(self) -> None:
        left = int(self.headers.get("Content-Length") or 0)
        hasher = hashlib.sha256()
        while left > 0:
            block = self.rfile.read(min(left, 256 * 1024))
            if not block:
                return
            if self.verify:
                hasher.update(block)
            left -= len(block)
        raw = b'{"code":"0","data":"%s"}' % hasher.hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def serve_bare(port: int, *, verify: bool) -> None:
    handler = type("Handler", (_Bare,), {"verify": verify})
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


def spawn(args: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on port {port} did not start")


def plain_upload(url: str, paths: list[Path]) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=httpx.Timeout(30, connect=5)) as http:
        for path in paths:
            http.put(f"/upload/{path.name}", content=path.read_bytes()).raise_for_status()


def cloud_upload(url: str, paths: list[Path], *, workers: int, round_no: int) -> tuple[float, float]:
    """Register the series and send it; the seconds of each step (registration includes the checksums)."""
    import httpx

    from backend.domain.health_cloud import file_idempotency_key
    from backend.ports.health_cloud import CloudFile, CloudFileEntry, CloudStudy
    from integrations.health_cloud.client import CloudCredentials, HttpHealthCloud

    start = time.perf_counter()
    study_uid = f"1.2.826.0.1.3680043.8.498.{round_no}.{workers}"
    entries = tuple(CloudFileEntry(f"{study_uid}.{i}", f"{study_uid}.1", p.stat().st_size,
                                   hashlib.sha256(p.read_bytes()).hexdigest()) for i, p in enumerate(paths))
    study = CloudStudy(accession=f"CT{round_no}{workers}", study_uid=study_uid, patient_id="P0001",
                       patient_name="BENCH", modality="CT", study_date=datetime.now(UTC).date(), files=entries)
    with httpx.Client(base_url=url, timeout=httpx.Timeout(30, connect=5),
                      limits=httpx.Limits(max_connections=max(workers, 1))) as http:
        cloud = HttpHealthCloud(http, CloudCredentials(APP_ID, SECRET, HOSPITAL))
        reg = cloud.register_study(study=study)
        registered = time.perf_counter()
        files = [CloudFile(reg.registration_id, e.sop_instance_uid, e.size, e.sha256, file_idempotency_key(
            hospital_code=HOSPITAL, study_uid=study_uid, sop_instance_uid=e.sop_instance_uid, sha256=e.sha256))
            for e in entries]
        uploads = cloud.open_uploads(registration_id=reg.registration_id, files=files)
        if workers == 1:
            done = [cloud.upload_file(upload=up, source=path) for up, path in zip(uploads, paths, strict=True)]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = list(pool.map(lambda pair: cloud.upload_file(upload=pair[0], source=pair[1]),
                                     zip(uploads, paths, strict=True)))
        uploaded = time.perf_counter()
    if sum(r.bytes_sent for r in done) != sum(e.size for e in entries):
        raise SystemExit("the cloud did not take every byte")
    return registered - start, uploaded - registered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="parallel uploads of the extra figure")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, verify=args.verify)
        return
    ports = {"plain_http": free_port(), "plain_http_sha256": free_port(), "cloud": free_port()}
    servers = {"plain_http": spawn([__file__, "--serve-bare", str(ports["plain_http"])], ports["plain_http"]),
               "plain_http_sha256": spawn([__file__, "--serve-bare", str(ports["plain_http_sha256"]), "--verify"],
                                          ports["plain_http_sha256"]),
               "cloud": spawn(["-m", "integrations.health_cloud.emulator", "--port", str(ports["cloud"]),
                               "--app-id", APP_ID, "--secret", SECRET, "--no-store-bytes"], ports["cloud"])}
    try:
        run(args, {name: (f"http://127.0.0.1:{port}", servers[name].pid) for name, port in ports.items()})
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (from /proc): robust where wall time is not, on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    upload_s: float
    register_s: float
    client_cpu_s: float
    server_cpu_s: float


def measured(fn: Callable[[], tuple[float, float]], server_pid: int) -> Sample:
    before, server_before = os.times(), cpu_seconds(server_pid)
    register_s, upload_s = fn()
    after = os.times()
    return Sample(upload_s, register_s, after.user + after.system - before.user - before.system,
                  cpu_seconds(server_pid) - server_before)


def run(args: argparse.Namespace, servers: dict[str, tuple[str, int]]) -> None:
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-cloud-") as tmp:
        paths = make_series(Path(tmp), args.slices)
        total_mb = sum(p.stat().st_size for p in paths) / 1e6
        cloud_url, cloud_pid = servers["cloud"]
        modes: dict[str, Callable[[int], Sample]] = {
            name: (lambda r, url=url, pid=pid: measured(lambda: (0.0, timed_plain(url, paths)), pid))
            for name, (url, pid) in servers.items() if name != "cloud"}
        for workers in sorted({1, args.workers}):
            modes[f"cloud_{workers}_worker"] = lambda r, w=workers: measured(
                lambda: cloud_upload(cloud_url, paths, workers=w, round_no=r), cloud_pid)
        samples: dict[str, list[Sample]] = {m: [] for m in modes}
        for r in range(args.rounds):  # interleaved, so a busy neighbour slows every mode alike
            for mode, fn in modes.items():
                httpx.post(f"{cloud_url}/_emulator/reset", json={}, timeout=10)
                samples[mode].append(fn(r))
        report(samples, total_mb=total_mb, files=len(paths))


def timed_plain(url: str, paths: list[Path]) -> float:
    start = time.perf_counter()
    plain_upload(url, paths)
    return time.perf_counter() - start


def report(samples: dict[str, list[Sample]], *, total_mb: float, files: int) -> None:
    """Medians, and the fastest of the interleaved rounds: on a shared machine the minimum estimates the
    uncontended cost (the `timeit` rule), the median what a busy hour gives; CPU seconds are medians."""
    med = statistics.median
    base = [s.upload_s for s in samples["plain_http"]]
    ratios: dict[str, dict[str, float]] = {"best": {}, "median": {}}
    for mode, rows in samples.items():
        up = [s.upload_s for s in rows]
        figures: dict[str, Any] = {
            "mb_per_s": round(total_mb / med(up), 1), "best_mb_per_s": round(total_mb / min(up), 1),
            "seconds": [round(v, 2) for v in up], "client_cpu_s": round(med(s.client_cpu_s for s in rows), 2),
            "server_cpu_s": round(med(s.server_cpu_s for s in rows), 2)}
        if mode.startswith("cloud_"):
            figures["register_seconds"] = [round(s.register_s, 2) for s in rows]
            ratios["best"][mode] = round(min(base) / min(up), 2)
            ratios["median"][mode] = round(med(base) / med(up), 2)
        emit("cloud_upload", mode=mode, files=files, mb=round(total_mb, 1), **figures)
    emit("cloud_upload", mode="summary", target=TARGET_RATIO, ratio_best=ratios["best"],
         ratio_median=ratios["median"], ok_best=max(ratios["best"].values()) >= TARGET_RATIO,
         ok_median=max(ratios["median"].values()) >= TARGET_RATIO)


if __name__ == "__main__":
    main()
