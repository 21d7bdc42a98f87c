"""Bench: the lung-nodule reconstruction flow on loopback (issue 11 "Speed", LN-7).

`python bench/bench_recon_flow.py [--slices 300]`: a synthetic chest CT thin series (512x512, 1.25 mm, with
the phantom's nodules) archived in RadOps as the patient's prior (SQLite under a temporary folder); a CT-LN-TR
exam registered, its prior list read and the series linked; the send job C-STOREs the series to the RECON
emulator; the emulator finds the nodules, resamples and C-STOREs its result series back into RadOps' SCP and
releases; the exam is then 检查完成. One JSON line with each stage's seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import emit

WAIT_S = 600.0
# The reconstruction system is a machine of its own: its emulator runs in a process of its own here, so its
# numerical work does not share RadOps' interpreter lock. It stops when the bench closes its stdin.
EMULATOR = """
import sys
from integrations.recon.emulator import ReconConfig, RECONEmulator
emu = RECONEmulator(ReconConfig(port=0, destination_port=int(sys.argv[1]))).start()
print("READY", emu.port, flush=True)
sys.stdin.read()
emu.stop()
for job in emu.jobs:
    print("JOB", job.received, job.reconstruct_s, job.send_s, flush=True)
"""


def source_series(slices: int) -> list[object]:
    from backend.dicom.synthetic import UID_ROOT, example_patients
    from backend.dicom.synthetic.ct import LUNG, CtStudy, chest_ct_studies
    from backend.dicom.synthetic.phantom import ChestPhantom

    patient = example_patients(1)[0]
    phantom = ChestPhantom(3, patient.key.patient_id)
    top = phantom.z_top
    study = CtStudy(patient.key, patient.study, "current")
    (instances,) = chest_ct_studies(phantom, [study], uid_root=UID_ROOT,
                                    z_range=(top, top - LUNG.spacing_mm * (slices + 3)))
    thin = [d for d in instances if d.SeriesNumber == LUNG.number]
    return thin[:slices]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=300)
    args = parser.parse_args()

    from io import BytesIO

    from backend.bootstrap import build_services
    from backend.config import Settings
    from backend.db.migrate import upgrade
    from backend.dicom.tags import header_of
    from backend.domain.actor import SYSTEM
    from backend.domain.registration import OrderData, PatientData
    from backend.entrypoints.listeners.dicom_scp import start_dicom
    from backend.ports import NullNotifier
    from backend.seed.reference import seed_reference
    from backend.services.imaging import archive, nodes, recon, recon_send
    from backend.services.orders import registration

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    series = source_series(args.slices)
    stages["generate_s"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="bench-recon-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'radops.db'}"
        upgrade(url)
        settings = Settings(database_url=url, var_dir=tmp / "var", secret_key="bench", dicom_port=0,
                            start_scheduler=False, dicom_timeout_s=60.0)
        seed_reference(settings, seed=1)
        svc = build_services(settings, notifier=NullNotifier())
        handle, _line = start_dicom(svc)
        root = str(Path(__file__).resolve().parent.parent)
        emu = subprocess.Popen([sys.executable, "-c", EMULATOR, str(handle.port)], cwd=root, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": root})
        assert emu.stdout is not None
        assert emu.stdin is not None
        emu_port = int(emu.stdout.readline().split()[1])
        try:
            nodes.save_node(svc, {"ae_title": "CT01", "host": "127.0.0.1", "port": 11114, "rights": ["store"]},
                            by=SYSTEM)
            nodes.save_node(svc, {"ae_title": "RECON", "host": "127.0.0.1", "port": emu_port, "rights": ["store"]},
                            by=SYSTEM)
            t = time.perf_counter()
            size = 0
            for ds in series:
                buf = BytesIO()
                ds.save_as(buf, enforce_file_format=True)  # type: ignore[attr-defined]
                data = buf.getvalue()
                size += len(data)
                meta = ds.file_meta  # type: ignore[attr-defined]
                archive.store_instance(svc, header_of(ds, transfer_syntax=str(meta.TransferSyntaxUID)), data,
                                       received_from="CT01")
            stages["archive_prior_s"] = time.perf_counter() - t

            clerk = SYSTEM
            mrn = str(series[0].PatientID)  # type: ignore[attr-defined]
            exam = registration.register(svc, OrderData(patient=PatientData(mrn=mrn, name="基准患者", sex="M"),
                                                        item_code="CT-LN-TR"), by=clerk)
            t = time.perf_counter()
            found = recon.priors(svc, exam["accession"], by=SYSTEM)
            stages["prior_list_s"] = time.perf_counter() - t
            t = time.perf_counter()
            recon.link(svc, exam["accession"], study_uid=found["priors"][0]["study_uid"], by=SYSTEM)
            stages["link_s"] = time.perf_counter() - t

            t = time.perf_counter()
            recon_send.send_pending(svc)
            stages["send_s"] = time.perf_counter() - t
            t = time.perf_counter()
            deadline = time.monotonic() + WAIT_S
            link = recon.link_of(svc, exam["accession"])
            while link is not None and link["state"] != "completed" and time.monotonic() < deadline:
                time.sleep(0.05)
                link = recon.link_of(svc, exam["accession"])
            stages["reconstruct_and_return_s"] = time.perf_counter() - t
        finally:
            try:
                out, _err = emu.communicate(input="", timeout=30)  # closing its stdin stops the emulator
            except subprocess.TimeoutExpired:
                emu.kill()
                out = ""
            for line in out.splitlines():  # the peer's own times: reconstruction, and sending its results
                if line.startswith("JOB"):
                    stages["peer_reconstruct_s"], stages["peer_send_results_s"] = map(float, line.split()[2:4])
            handle.stop()
        results = (link or {}).get("results", [])
        emit("recon_flow", slices=len(series), source_mb=round(size / 2**20, 1),
             state=(link or {}).get("state"), result_series=len(results),
             result_images=sum(int(r["images"]) for r in results),
             **{k: round(v, 2) for k, v in stages.items()},
             flow_s=round(sum(v for k, v in stages.items()
                              if k not in ("generate_s", "archive_prior_s") and not k.startswith("peer_")), 2))


if __name__ == "__main__":
    main()
