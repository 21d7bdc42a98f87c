"""JPEG → DICOM throughput (HC-3): RadOps' converter against dcmtk `img2dcm` and plain pydicom encapsulation,
side by side in the same run, file to file, on JPEGs of 1920×1080 made here; then every output of ours is
checked (JPEG bytes inside equal the input, `dcmdump` clean). One JSON line per figure.

    .venv/bin/python bench/bench_convert.py --files 50 --rounds 3
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from _common import emit

TARGET_RATIO = 3.0


def make_jpegs(folder: Path, n: int) -> list[Path]:
    """Ultrasound-like captures: gradients, texture and noise, quality 90, with a JFIF header."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:1080, 0:1920]
    paths = []
    for i in range(n):
        base = np.stack([(x + 13 * i) % 256, (y * 2 + i) % 256, ((x + y) // 3) % 256], -1)
        pixels = (base * 0.75 + rng.integers(0, 64, base.shape)).astype(np.uint8)
        path = folder / f"capture{i:03d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def exam():
    from backend.dicom.convert import ExamIdentity

    return ExamIdentity(accession="US20261127001", study_uid="1.2.826.0.1.3680043.8.498.9001", patient_id="P0001",
                        patient_name="欧阳^秀兰", patient_sex="F", birth_date=date(1975, 8, 21),
                        study_date=date(2026, 11, 27), modality="US")


def run_radops(paths: list[Path], out: Path) -> None:
    from backend.dicom.convert import convert

    identity, at = exam(), datetime(2026, 11, 27, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    for i, path in enumerate(paths):
        [instance] = convert(path.read_bytes(), identity, at=at, instance_number=i + 1)
        (out / f"{path.stem}.dcm").write_bytes(instance.data)


def run_pydicom(paths: list[Path], out: Path) -> None:
    """The recipe of standards.md 3.2 as written, with pydicom's own `encapsulate` and Pillow for the size."""
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit, generate_uid

    for path in paths:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            columns, rows = img.size
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
        ds.SpecificCharacterSet, ds.PatientName, ds.PatientID = "ISO_IR 192", "欧阳^秀兰", "P0001"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.9001", generate_uid()
        ds.AccessionNumber, ds.Modality, ds.ConversionType = "US20261127001", "US", "WSD"
        ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, columns, 3, "YBR_FULL_422"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 8, 8, 7, 0, 0
        ds.PixelData = encapsulate([data])
        ds["PixelData"].VR = "OB"
        ds.save_as(out / f"{path.stem}.dcm", enforce_file_format=True)


def run_img2dcm(paths: list[Path], out: Path) -> None:
    keys = ["-k", "PatientID=P0001", "-k", "AccessionNumber=US20261127001",
            "-k", "StudyInstanceUID=1.2.826.0.1.3680043.8.498.9001", "-k", "Modality=US"]
    for path in paths:
        subprocess.run(["img2dcm", "-q", *keys, str(path), str(out / f"{path.stem}.dcm")], check=True, timeout=60)


def timed(fn: Callable[[list[Path], Path], None], paths: list[Path], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    fn(paths, out)
    return len(paths) / (time.perf_counter() - start)


def verify(paths: list[Path], out: Path) -> tuple[int, int]:
    """How many outputs carry their JPEG byte for byte, and how many `dcmdump` reads without a warning."""
    import pydicom
    from pydicom.encaps import generate_fragments

    unchanged = clean = 0
    for path in paths:
        dcm, jpeg = out / f"{path.stem}.dcm", path.read_bytes()
        _bot, *fragments = generate_fragments(pydicom.dcmread(dcm).PixelData)
        unchanged += len(fragments) == 1 and fragments[0].rstrip(b"\x00") == jpeg.rstrip(b"\x00")
        run = subprocess.run(["dcmdump", "-ll", "warn", str(dcm)], capture_output=True, text=True, timeout=60)
        clean += run.returncode == 0 and run.stderr == ""
    return unchanged, clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="each mode runs this many times; medians are kept")
    args = parser.parse_args()
    if shutil.which("img2dcm") is None or shutil.which("dcmdump") is None:
        raise SystemExit("dcmtk (img2dcm, dcmdump) is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        paths = make_jpegs(root / "in", args.files)
        modes = {"img2dcm": run_img2dcm, "pydicom_encapsulate": run_pydicom, "radops": run_radops}
        rates: dict[str, list[float]] = {m: [] for m in modes}
        for _ in range(args.rounds):  # interleaved, so a busy neighbour slows every mode alike
            for mode, fn in modes.items():
                rates[mode].append(timed(fn, paths, root / mode))
        size = round(sum(p.stat().st_size for p in paths) / len(paths) / 1024)
        for mode, values in rates.items():
            emit("convert_jpeg", mode=mode, files=len(paths), jpeg_kib=size,
                 files_per_s=round(statistics.median(values), 1), rounds=[round(v, 1) for v in values])
        unchanged, clean = verify(paths, root / "radops")
        ratio = statistics.median(rates["radops"]) / statistics.median(rates["img2dcm"])
        emit("convert_jpeg", mode="summary", ratio_vs_img2dcm=round(ratio, 2), target=TARGET_RATIO,
             bytes_unchanged=unchanged, dcmdump_clean=clean, files=len(paths),
             ok=ratio >= TARGET_RATIO and unchanged == clean == len(paths))


if __name__ == "__main__":
    main()
