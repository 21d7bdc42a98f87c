"""Bench: DICOM receive and send (issue 10 "Speed"), peers measured side by side in the same run.

`python bench/bench_dicom.py [--slices 300] [--senders 4] [--skip-orthanc]`: a 512x512 CT series (300 slices,
~158 MB uncompressed) sent by dcmtk `storescu` over one association on loopback into (1) RadOps (files +
index, SQLite under a temporary var/), (2) Orthanc (Debian, its own SQLite index), (3) dcmtk `storescp`
(writes files only); TCP_NODELAY=1 on both sides for dcmtk. Then RadOps with N senders at once, and RadOps
sending the series to dcmtk storescp (our SCU). One JSON line per figure (images/s, MB/s, seconds, load).

The floor of the stack RadOps is built on, in the same run: a bare pynetdicom Storage SCP with RadOps's
PDU size and TCP_NODELAY whose handler discards each instance (the stack's ceiling: no Python receiver
can pass it) and one that only writes the received bytes to a file. The last line puts the ratios the
issue's aim is stated in side by side: RadOps / Orthanc, RadOps / storescp, and the ceiling / Orthanc.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import emit, free_port

NODELAY = {**os.environ, "TCP_NODELAY": "1"}


def make_series(folder: Path, slices: int) -> tuple[list[Path], int]:
    """A CT series of `slices` 512x512 16-bit slices (uncompressed, explicit VR LE), one file each."""
    import numpy as np
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(1)
    base = (rng.normal(0, 40, (512, 512)) + 40).astype(np.int16)
    files, total = [], 0
    for i in range(slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientID, ds.PatientName, ds.AccessionNumber, ds.StudyDate = "BENCH1", "BENCH^CT", "BENCHACC", "20261130"
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, i + 1
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.PixelData = np.roll(base, i, axis=0).tobytes()
        path = folder / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
        total += path.stat().st_size
    return files, total


def storescu(port: int, files: list[Path], called: str = "RADOPS", calling: str = "CT01") -> float:
    started = time.perf_counter()
    run = subprocess.run(["storescu", "-aet", calling, "-aec", called, "127.0.0.1", str(port), *map(str, files)],
                         env=NODELAY, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-500:])
    return time.perf_counter() - started


def _wait_port(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


RATES: dict[str, float] = {}


def _figure(name: str, n: int, size: int, seconds: float, **extra: Any) -> None:
    RATES[name] = round(n / seconds, 1)
    emit("dicom", case=name, images=n, mb=round(size / 2**20, 1), seconds=round(seconds, 2),
         images_per_s=round(n / seconds, 1), mb_per_s=round(size / 2**20 / seconds, 1),
         load=round(os.getloadavg()[0], 1), **extra)


def radops(tmp: Path) -> tuple[Any, Any, int]:
    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.domain.actor import SYSTEM
    from backend.entrypoints.listeners.dicom_scp import start_dicom
    from backend.ports import NullNotifier
    from backend.seed.reference import seed_reference
    from backend.services.imaging import nodes

    tmp.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp / 'radops.db'}"
    upgrade(url)
    settings = Settings(database_url=url, var_dir=tmp / "var", secret_key="bench", dicom_port=0,
                        start_scheduler=False)
    seed_reference(settings, seed=1)
    svc = build_services(settings, notifier=NullNotifier())
    for i, ae in enumerate(("CT01", "CT02", "CT03", "CT04", "DEST")):
        nodes.save_node(svc, {"ae_title": ae, "host": "127.0.0.1", "port": 1 + i, "rights": ["store"]}, by=SYSTEM)
    handle, _line = start_dicom(svc)
    return svc, handle, handle.port


def bench_radops(files: list[Path], size: int, senders: int, tmp: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _svc, handle, port = radops(tmp / "radops1")
    try:
        _figure("receive_radops", len(files), size, storescu(port, files))
    finally:
        handle.stop()
    _svc, handle, port = radops(tmp / "radops4")
    try:
        chunks = [files[i::senders] for i in range(senders)]
        started = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(lambda k: storescu(port, chunks[k], calling=f"CT0{k % 4 + 1}"), range(senders)))
        _figure(f"receive_radops_{senders}_senders", len(files), size, time.perf_counter() - started)
    finally:
        handle.stop()


def bench_pynetdicom(files: list[Path], size: int, tmp: Path) -> None:
    """The stack's own floor: bare pynetdicom SCPs (RadOps's PDU size, TCP_NODELAY), discarding, then writing."""
    from pynetdicom import AE, AllStoragePresentationContexts, evt

    from backend.dicom.transport import nodelay

    out = tmp / "pynetdicom"
    out.mkdir()

    def discard(event: Any) -> int:
        event.encoded_dataset()
        return 0x0000

    def write(event: Any) -> int:
        (out / event.request.AffectedSOPInstanceUID).write_bytes(event.encoded_dataset())
        return 0x0000

    for case, handler in (("receive_pynetdicom_discard", discard), ("receive_pynetdicom_write_files", write)):
        ae = AE("RADOPS")
        ae.supported_contexts = AllStoragePresentationContexts
        ae.maximum_pdu_size = 131072  # as RadOps's listener
        server = ae.start_server(("127.0.0.1", 0), block=False,
                                 evt_handlers=[(evt.EVT_C_STORE, handler), (evt.EVT_CONN_OPEN, nodelay)])
        try:
            _figure(case, len(files), size, storescu(server.socket.getsockname()[1], files))
        finally:
            server.shutdown()


def _ratios() -> None:
    """The aim's ratios from this run's figures (absent peers: absent ratios)."""
    def ratio(a: str, b: str) -> float | None:
        return round(RATES[a] / RATES[b], 2) if a in RATES and b in RATES else None

    emit("dicom", case="ratios", radops_over_orthanc=ratio("receive_radops", "receive_orthanc"),
         radops_over_storescp=ratio("receive_radops", "receive_dcmtk_storescp"),
         ceiling_over_orthanc=ratio("receive_pynetdicom_discard", "receive_orthanc"),
         ceiling_over_storescp=ratio("receive_pynetdicom_discard", "receive_dcmtk_storescp"),
         aim_over_orthanc=1.2, aim_over_storescp=0.3)


def bench_storescp(files: list[Path], size: int, tmp: Path) -> None:
    port = free_port()
    out = tmp / "storescp"
    out.mkdir()
    proc = subprocess.Popen(["storescp", "--output-directory", str(out), "--accept-all", str(port)], env=NODELAY,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        _figure("receive_dcmtk_storescp", len(files), size, storescu(port, files, called="ANY-SCP"))
        send_from_radops(files, size, port)
    finally:
        proc.terminate()
        proc.wait(10)


def send_from_radops(files: list[Path], size: int, port: int) -> None:
    from backend.dicom.scu import Target, send

    started = time.perf_counter()
    result = send(Target("ANY-SCP", "127.0.0.1", port), files, calling_ae="RADOPS")
    if result["sent"] != len(files):
        raise RuntimeError(f"send failed: {result['failed'][:3]}")
    _figure("send_radops_to_dcmtk_storescp", len(files), size, time.perf_counter() - started)


def bench_orthanc(files: list[Path], size: int, tmp: Path) -> None:
    port, http = free_port(), free_port()
    cfg = tmp / "orthanc.json"
    cfg.write_text(json.dumps({"Name": "BENCH", "StorageDirectory": str(tmp / "orthanc-db"),
                               "IndexDirectory": str(tmp / "orthanc-db"), "DicomAet": "ORTHANC",
                               "DicomPort": port, "HttpPort": http, "RemoteAccessAllowed": False,
                               "DicomCheckCalledAet": False, "TcpNoDelay": True, "Plugins": [],
                               "StorageCompression": False, "HttpServerEnabled": True}))
    proc = subprocess.Popen(["Orthanc", str(cfg)], env=NODELAY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        _figure("receive_orthanc", len(files), size, storescu(port, files, called="ORTHANC"))
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--skip-orthanc", action="store_true")
    ns = p.parse_args()
    for tool in ("storescu", "storescp"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install dcmtk)")
    with tempfile.TemporaryDirectory(prefix="radops-bench-dicom-") as name:
        tmp = Path(name)
        files, size = make_series(tmp / "series", ns.slices)
        bench_storescp(files, size, tmp)
        if not ns.skip_orthanc and shutil.which("Orthanc"):
            bench_orthanc(files, size, tmp)
        bench_pynetdicom(files, size, tmp)
        bench_radops(files, size, ns.senders, tmp)
        _ratios()


if __name__ == "__main__":
    main()
