"""Bench: generating the demo images (issue 10 item 7) and one RECON round trip (issue 11 LN-7).

`python bench/bench_synthetic.py [--ct N] [--recon]`: one JSON line for the images (seconds, MB on disk as
Part-10 files, instances), and with --recon one line with each stage of sending a full thin series to the
emulator and receiving its results on loopback.
"""

from __future__ import annotations

import argparse
import io
import os
import threading
import time
from typing import Any

from _common import emit
from pydicom.filewriter import dcmwrite

from backend.dicom.synthetic import demo_studies, example_patients


def bench_images(ct: int) -> list[Any]:
    patients = example_patients(ct + 2, kinds=("chest_ct",) * ct + ("dx", "mg"))
    cpu0, t0 = time.process_time(), time.perf_counter()
    size, count, gen, write, first_ct = 0, 0, 0.0, 0.0, None
    for _key, instances in demo_studies(7, patients):
        t1 = time.perf_counter()
        gen += t1 - t0
        for ds in instances:
            buf = io.BytesIO()
            dcmwrite(buf, ds, enforce_file_format=True)
            size += len(buf.getvalue())
            count += 1
        t0 = time.perf_counter()
        write += t0 - t1
        if first_ct is None and instances[0].Modality == "CT":
            first_ct = instances
    emit("synthetic_images", ct_patients=ct, other_patients=2, studies=2 * ct + 2, instances=count,
         generate_s=round(gen, 1), write_s=round(write, 1), total_s=round(gen + write, 1),
         cpu_s=round(time.process_time() - cpu0, 1), mb_on_disk=round(size / 2**20, 1),
         transfer_syntax="JPEG-LS Lossless", load=round(os.getloadavg()[0], 1))
    return first_ct or []


def bench_recon(instances: list[Any]) -> None:
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
    from pynetdicom.sop_class import CTImageStorage

    from integrations.recon.emulator import ReconConfig, RECONEmulator

    thin = [d for d in instances if d.SeriesNumber == 2]
    received, done, marks = [], threading.Event(), {}
    scp = AE(ae_title="RADOPS")
    scp.add_supported_context(CTImageStorage, ALL_TRANSFER_SYNTAXES)

    def on_store(event: Any) -> int:
        marks.setdefault("first_result", time.perf_counter())
        received.append(event.request.AffectedSOPInstanceUID)
        return 0

    server = scp.start_server(("127.0.0.1", 0), block=False, evt_handlers=[
        (evt.EVT_C_STORE, on_store), (evt.EVT_RELEASED, lambda e: done.set())])
    emu = RECONEmulator(ReconConfig(port=0, destination_port=server.server_address[1])).start()
    ae = AE(ae_title="RADOPS")
    ae.add_requested_context(CTImageStorage, [thin[0].file_meta.TransferSyntaxUID])
    cpu0, start = time.process_time(), time.perf_counter()
    assoc = ae.associate("127.0.0.1", emu.port, ae_title="RECON")
    for ds in thin:
        assoc.send_c_store(ds)
    assoc.release()
    sent = time.perf_counter()
    done.wait(600)
    end = time.perf_counter()
    emu.stop()
    server.shutdown()
    emit("recon_round_trip", source_images=len(thin), send_source_s=round(sent - start, 1),
         reconstruct_s=round(marks.get("first_result", end) - sent, 1),
         receive_results_s=round(end - marks.get("first_result", end), 1), total_s=round(end - start, 1),
         cpu_s=round(time.process_time() - cpu0, 1), result_series=emu.jobs[0].found if emu.jobs else 0,
         result_images=len(received), load=round(os.getloadavg()[0], 1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ct", type=int, default=2, help="chest CT patients (each: current + prior study)")
    parser.add_argument("--recon", action="store_true", help="also time one RECON round trip")
    args = parser.parse_args()
    first = bench_images(args.ct)
    if args.recon and first:
        bench_recon(first)
