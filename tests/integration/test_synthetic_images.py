"""Synthetic demo images (issue 10 item 7): geometry, nodule ground truth in the pixels, determinism,
valid DICOM read back by pydicom and parsed by dcmtk's dcmdump, and the size budget."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
from pydicom import Dataset, dcmread
from pydicom.filewriter import dcmwrite
from pydicom.uid import JPEGLSLossless

from backend.dicom.synthetic import demo_studies, example_patients, nodule_truth
from tests.synthetic_helpers import SEED, slab


def encode(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def hu_at(series: list[Dataset], xyz: tuple[float, float, float]) -> float:
    """HU of the pixel nearest to a patient point (axial series)."""
    ds = min(series, key=lambda d: abs(float(d.ImagePositionPatient[2]) - xyz[2]))
    x0, y0 = (float(v) for v in ds.ImagePositionPatient[:2])
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    col, row = round((xyz[0] - x0) / col_mm), round((xyz[1] - y0) / row_mm)
    return float(ds.pixel_array[row, col]) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


@pytest.fixture(scope="module")
def small_demo() -> list[tuple[str, list[Dataset]]]:
    patients = example_patients(2, kinds=("dx", "mg"))
    return [(key.patient_id, instances) for key, instances in demo_studies(SEED, patients)]


def test_slices_step_by_their_spacing_along_the_normal() -> None:
    series, _ = slab()
    iop = np.array(series[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    positions = np.array([d.ImagePositionPatient for d in series], float) @ normal
    assert np.allclose(np.diff(positions), -float(series[0].SpacingBetweenSlices))
    assert np.allclose(np.diff(positions), -float(series[0].SliceThickness))
    assert [int(d.InstanceNumber) for d in series] == list(range(1, len(series) + 1))
    assert all(float(d.SliceLocation) == pytest.approx(float(d.ImagePositionPatient[2])) for d in series)
    assert len({d.SOPInstanceUID for d in series}) == len(series)
    assert {d.FrameOfReferenceUID for d in series} == {series[0].FrameOfReferenceUID}


def test_each_nodule_is_a_blob_of_its_size_at_its_ground_truth_centre() -> None:
    series, nodules = slab()
    assert nodules
    for n in nodules:
        centre = hu_at(list(series), n.center)
        lung = hu_at(list(series), (n.center[0], n.center[1], n.center[2] + n.short_mm / 2 + 6.0))
        assert centre > -700, n
        assert lung < -700, n
        if n.kind in ("solid", "calcified", "part_solid"):
            assert centre > -200, n
        # The edge along the long axis: inside just within it, outside just beyond it.
        ux, uy = np.cos(n.angle), np.sin(n.angle)
        inner = (n.center[0] + ux * (n.long_mm / 2 - 1.5), n.center[1] + uy * (n.long_mm / 2 - 1.5), n.center[2])
        outer = (n.center[0] + ux * (n.long_mm / 2 + 2.5), n.center[1] + uy * (n.long_mm / 2 + 2.5), n.center[2])
        assert hu_at(list(series), inner) > -750 > hu_at(list(series), outer), n


def test_the_prior_shows_the_same_nodules_smaller_or_not_at_all() -> None:
    current = {n.label: n for n in nodule_truth(SEED, "SYN00001")}
    prior = {n.label: n for n in nodule_truth(SEED, "SYN00001", "prior")}
    assert set(prior) < set(current)
    for label, p in prior.items():
        assert p.center == current[label].center
        assert p.long_mm <= current[label].long_mm
    assert any(p.long_mm < current[k].long_mm for k, p in prior.items())
    kinds = {n.kind for n in current.values()}
    assert kinds == {"solid", "part_solid", "ground_glass", "calcified"}


def test_same_seed_same_bytes_other_seed_other_images(small_demo) -> None:
    again = [(key.patient_id, instances) for key, instances in
             demo_studies(SEED, example_patients(2, kinds=("dx", "mg")))]
    assert [[encode(d) for d in s] for _, s in again] == [[encode(d) for d in s] for _, s in small_demo]
    other = next(demo_studies(SEED + 1, example_patients(1, kinds=("dx",))))[1][0]
    assert other.SOPInstanceUID != small_demo[0][1][0].SOPInstanceUID
    assert encode(other) != encode(small_demo[0][1][0])


def test_instances_read_back_with_their_pixels(small_demo, tmp_path) -> None:
    series, _ = slab()
    instances = [series[0], *[d for _, s in small_demo for d in s]]
    for ds in instances:
        back = dcmread(io.BytesIO(encode(ds)))
        assert back.file_meta.TransferSyntaxUID == JPEGLSLossless
        assert back.pixel_array.shape == (ds.Rows, ds.Columns)
        assert back.PatientID.startswith("SYN")
        assert back.AccessionNumber.startswith("SYNACC")
    modalities = sorted({d.Modality for d in instances})
    assert modalities == ["CT", "DX", "MG"]
    mg = [d for _, s in small_demo for d in s if d.Modality == "MG"]
    assert sorted((d.ImageLaterality, d.ViewPosition) for d in mg) == [("L", "CC"), ("L", "MLO"), ("R", "CC"),
                                                                       ("R", "MLO")]


@pytest.mark.skipif(shutil.which("dcmdump") is None, reason="dcmtk (dcmdump) is not installed")
def test_dcmtk_parses_every_kind_without_errors(small_demo, tmp_path) -> None:
    series, _ = slab()
    for n, ds in enumerate([series[0], *[d for _, s in small_demo for d in s]]):
        path = tmp_path / f"{n}.dcm"
        path.write_bytes(encode(ds))
        run = subprocess.run(["dcmdump", "-q", "+E", str(path)], capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        assert "E:" not in run.stderr, run.stderr
        assert "(0020,000d)" in run.stdout


@pytest.mark.slow
def test_a_full_chest_ct_fits_the_size_budget() -> None:
    patient = example_patients(1)
    sizes = [sum(len(encode(d)) for d in instances) for _key, instances in demo_studies(SEED, patient)]
    assert len(sizes) == 2  # the current study and its prior
    # 512 x 512, 1.25 mm: ~130 MB a study raw; JPEG-LS keeps each well under 40 MB.
    assert all(10 * 2**20 < s < 40 * 2**20 for s in sizes), sizes
