"""The RECON emulator over real loopback associations: a pynetdicom SCP stands in for RadOps, receives the
result series and checks their geometry, references and derivation; then each fault switch (LN-7)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from pydicom import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import CTImageStorage

from integrations.recon.emulator import ReconConfig, RECONEmulator
from tests.synthetic_helpers import slab

WAIT_S = 120.0


@dataclass
class RadOpsStandIn:
    """A Storage SCP playing RadOps: keeps what arrives and how each association ended."""

    received: list[Dataset] = field(default_factory=list)
    endings: list[str] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def on_store(self, event: Any) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        self.received.append(ds)
        return 0x0000

    def on_end(self, how: str) -> Any:
        def handler(event: Any) -> None:
            if event.assoc.is_acceptor:
                self.endings.append(how)
                self.ended.set()
        return handler


@pytest.fixture
def radops() -> Iterator[RadOpsStandIn]:
    stand_in = RadOpsStandIn()
    ae = AE(ae_title="RADOPS")
    ae.add_supported_context(CTImageStorage, ALL_TRANSFER_SYNTAXES)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[
        (evt.EVT_C_STORE, stand_in.on_store), (evt.EVT_RELEASED, stand_in.on_end("released")),
        (evt.EVT_ABORTED, stand_in.on_end("aborted"))])
    stand_in.port = server.server_address[1]
    yield stand_in
    server.shutdown()


def emulator(radops: RadOpsStandIn, **kw: Any) -> RECONEmulator:
    return RECONEmulator(ReconConfig(port=0, destination_port=radops.port, **kw)).start()


def send_source(port: int, series: tuple[Dataset, ...]) -> tuple[bool, list[int]]:
    """C-STORE the series to RECON in one association and release it; (established, statuses)."""
    ae = AE(ae_title="RADOPS")
    # A loaded machine can hold the emulator's answers back past pynetdicom's 30 s default (its reply is then
    # an empty status): wait longer, the test asserts the statuses themselves.
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 180
    ae.add_requested_context(CTImageStorage, [series[0].file_meta.TransferSyntaxUID])
    assoc = ae.associate("127.0.0.1", port, ae_title="RECON")
    if not assoc.is_established:
        return False, []
    statuses = [int(assoc.send_c_store(ds).Status) for ds in series]
    assoc.release()
    return True, statuses


def by_series(instances: list[Dataset]) -> dict[str, list[Dataset]]:
    out: dict[str, list[Dataset]] = {}
    for ds in instances:
        out.setdefault(ds.SeriesInstanceUID, []).append(ds)
    return {k: sorted(v, key=lambda d: int(d.InstanceNumber)) for k, v in out.items()}


def centre_of(series: list[Dataset]) -> np.ndarray:
    first, last = series[0], series[-1]
    iop = np.array(first.ImageOrientationPatient, float)
    half = (int(first.Columns) - 1) / 2 * float(first.PixelSpacing[1])
    mid = (np.array(first.ImagePositionPatient, float) + np.array(last.ImagePositionPatient, float)) / 2
    return mid + half * iop[:3] + half * iop[3:]


def test_results_are_target_series_centred_on_each_nodule(radops) -> None:
    source, nodules = slab()
    emu = emulator(radops)
    try:
        assert send_source(emu.port, source) == (True, [0] * len(source))
        assert radops.ended.wait(WAIT_S)
        assert radops.endings == ["released"]
    finally:
        emu.stop()
    results = by_series(radops.received)
    assert len(results) >= len(nodules) >= 1
    src = source[0]
    voxel = float(np.linalg.norm([float(v) for v in (*src.PixelSpacing, src.SliceThickness)]))
    for n in nodules:
        distances = [float(np.linalg.norm(centre_of(s) - np.array(n.center))) for s in results.values()]
        assert min(distances) < voxel, (n.label, distances)
    source_uids = {d.SOPInstanceUID for d in source}
    for series in results.values():
        check_geometry(series, src)
        check_identity_and_references(series, src, source_uids)


def check_geometry(series: list[Dataset], src: Dataset) -> None:
    first = series[0]
    spacing = float(first.SpacingBetweenSlices)
    assert float(first.PixelSpacing[0]) < float(src.PixelSpacing[0]) / 2
    assert spacing < float(src.SliceThickness)
    assert float(first.SliceThickness) == spacing
    assert list(first.ImageOrientationPatient) == list(src.ImageOrientationPatient)
    z = np.array([float(d.ImagePositionPatient[2]) for d in series])
    assert np.allclose(np.diff(z), spacing)
    assert all(d.FrameOfReferenceUID == src.FrameOfReferenceUID for d in series)
    assert first.pixel_array.shape == (first.Rows, first.Columns)


def check_identity_and_references(series: list[Dataset], src: Dataset, source_uids: set[str]) -> None:
    first = series[0]
    for key in ("PatientID", "PatientName", "StudyInstanceUID", "AccessionNumber", "PatientBirthDate"):
        assert first[key].value == src[key].value, key
    assert first.SeriesInstanceUID != src.SeriesInstanceUID
    assert len({d.SOPInstanceUID for d in series}) == len(series)
    assert list(first.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert "Targeted reconstruction" in first.DerivationDescription
    assert first.DerivationCodeSequence[0].CodeValue == "113072"
    refs = {item.ReferencedSOPInstanceUID for item in first.SourceImageSequence}
    assert refs
    assert refs <= source_uids
    assert first.ReferencedSeriesSequence[0].SeriesInstanceUID == src.SeriesInstanceUID


def test_the_same_source_twice_gives_the_same_result_uids(radops) -> None:
    source, _ = slab()
    emu = emulator(radops)
    try:
        for _ in range(2):
            radops.ended.clear()
            send_source(emu.port, source)
            assert radops.ended.wait(WAIT_S)
    finally:
        emu.stop()
    uids = [d.SOPInstanceUID for d in radops.received]
    assert len(uids) == 2 * len(set(uids))


def test_refuse_rejects_the_association(radops) -> None:
    source, _ = slab()
    emu = emulator(radops, fault="refuse")
    try:
        assert send_source(emu.port, source[:3]) == (False, [])
    finally:
        emu.stop()
    assert emu.jobs == []


def test_refuse_store_answers_every_c_store_with_a_failure(radops) -> None:
    source, _ = slab()
    emu = emulator(radops, fault="refuse_store")
    try:
        established, statuses = send_source(emu.port, source[:3])
    finally:
        emu.stop()
    assert established
    assert statuses == [0xA700] * 3
    assert emu.jobs == []
    assert radops.received == []


def test_partial_sends_some_series_then_aborts(radops) -> None:
    source, _nodules = slab()
    emu = emulator(radops, fault="partial")
    try:
        send_source(emu.port, source)
        assert radops.ended.wait(WAIT_S)
        assert emu.wait_idle(WAIT_S)
    finally:
        emu.stop()
    (job,) = emu.jobs
    assert job.found >= 2
    assert job.outcome == "partial"
    assert radops.endings == ["aborted"]
    assert 1 <= len(by_series(radops.received)) < job.found


def test_nothing_accepts_and_never_answers(radops) -> None:
    source, _ = slab()
    emu = emulator(radops, fault="nothing")
    try:
        assert send_source(emu.port, source) == (True, [0] * len(source))
        assert emu.wait_idle(WAIT_S)
    finally:
        emu.stop()
    (job,) = emu.jobs
    assert job.found >= 1
    assert job.outcome == "nothing"
    assert not radops.ended.is_set()
    assert radops.received == []


def test_slow_holds_the_results_back_for_its_delay(radops) -> None:
    source, _ = slab()
    emu = emulator(radops, fault="slow", delay_s=3.0)
    try:
        send_source(emu.port, source)
        deadline = time.monotonic() + WAIT_S
        while not (emu.jobs and emu.jobs[0].outcome == "delaying") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emu.jobs[0].outcome == "delaying"
        assert radops.received == []
        assert radops.ended.wait(WAIT_S)
    finally:
        emu.stop()
    assert emu.jobs[0].outcome == "sent"
    assert radops.received


def test_settings_place_the_node_and_pick_the_fault() -> None:
    from backend.config import load_settings
    from backend.entrypoints.listeners.recon_emulator import recon_config

    settings = load_settings({"RADOPS_RECON_PORT": "0", "RADOPS_RECON_FAULT": "partial", "RADOPS_DICOM_PORT": "4242",
                              "RADOPS_RECON_DELAY_S": "2.5"})
    cfg = recon_config(settings)
    assert (cfg.ae_title, cfg.host, cfg.port, cfg.fault, cfg.delay_s) == ("RECON", "127.0.0.1", 0, "partial", 2.5)
    assert (cfg.destination_ae, cfg.destination_port) == ("RADOPS", 4242)
    assert recon_config(load_settings({"RADOPS_RECON_FAULT": "bogus"})).fault == "none"
    emu = RECONEmulator(cfg).start()
    try:
        ae = AE(ae_title="RADOPS")
        ae.add_requested_context("1.2.840.10008.1.1")
        assoc = ae.associate("127.0.0.1", emu.port, ae_title="RECON")
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0
        assoc.release()
    finally:
        emu.stop()
