"""Non-DICOM → DICOM (HC-2, HC-3), checked by pydicom and by dcmtk (`dcmdump` clean, `dcmj2pnm` decodes
the encapsulated JPEG to exactly Pillow's pixels); every source is made in the test."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import generate_fragments
from reportlab.pdfgen import canvas

from backend.dicom.convert import (
    ENCAPSULATED_PDF,
    SECONDARY_CAPTURE,
    ConversionKind,
    ExamIdentity,
    convert,
    detect_format,
)
from backend.dicom.errors import UnreadableFile, UnsupportedFile
from backend.dicom.jpeg_header import BadJpeg, read_frame

AT = datetime(2026, 11, 27, 9, 30, 5)
EXAM = ExamIdentity(accession="US20261127001", study_uid="1.2.826.0.1.3680043.8.498.77", patient_id="P000123",
                    patient_name="王^秀英", patient_sex="F", birth_date=date(1961, 3, 4),
                    study_date=date(2026, 11, 27), study_time=time(9, 12), modality="US", study_id="S1")
needs_dcmtk = pytest.mark.skipif(shutil.which("dcmdump") is None or shutil.which("dcmj2pnm") is None,
                                 reason="dcmtk (dcmdump, dcmj2pnm) is not installed")


def picture(mode: str = "RGB", size: tuple[int, int] = (96, 64)) -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 3) % 256, (y * 4) % 256, ((x + y) * 2) % 256], -1).astype(np.uint8)
    img = Image.fromarray(rgb)
    return img if mode == "RGB" else img.convert(mode)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def one(data: bytes, exam: ExamIdentity = EXAM, **kw):
    [instance] = convert(data, exam, at=AT, **kw)
    return instance, pydicom.dcmread(io.BytesIO(instance.data))


def dcmdump_clean(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "out.dcm"
    path.write_bytes(data)
    run = subprocess.run(["dcmdump", "-ll", "warn", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", run.stderr


def dcmtk_pixels(tmp_path: Path, data: bytes) -> np.ndarray:
    src, out = tmp_path / "in.dcm", tmp_path / "out.pnm"
    src.write_bytes(data)
    run = subprocess.run(["dcmj2pnm", str(src), str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return np.asarray(Image.open(out))


@needs_dcmtk
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_baseline_jpeg_is_encapsulated_byte_for_byte(tmp_path, mode):
    exif = Image.Exif()
    exif[0x010F] = "ACME Ultrasound"
    jpeg = encode(picture(mode, (1920, 1080)), "JPEG", quality=88, exif=exif.tobytes())
    instance, ds = one(jpeg)
    assert instance.kind is ConversionKind.JPEG_AS_IS
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"
    assert ds.SOPClassUID == SECONDARY_CAPTURE
    offset_table, *fragments = generate_fragments(ds.PixelData)
    assert offset_table == b"\x00\x00\x00\x00"
    assert len(fragments) == 1
    assert fragments[0][: len(jpeg)] == jpeg
    assert fragments[0][len(jpeg):] in (b"", b"\x00")
    assert (ds.Rows, ds.Columns) == (1080, 1920)
    assert ds.SamplesPerPixel == (3 if mode == "RGB" else 1)
    assert ds.PhotometricInterpretation == ("YBR_FULL_422" if mode == "RGB" else "MONOCHROME2")
    assert ds.LossyImageCompression == "01"
    assert ds.LossyImageCompressionMethod == "ISO_10918_1"
    dcmdump_clean(tmp_path, instance.data)
    expected = np.asarray(Image.open(io.BytesIO(jpeg)).convert(mode))
    assert np.array_equal(dcmtk_pixels(tmp_path, instance.data), expected)


def test_identity_comes_from_the_exam():
    _, ds = one(encode(picture(), "JPEG"))
    assert str(ds.PatientName) == "王^秀英"
    assert ds.PatientID == "P000123"
    assert ds.StudyInstanceUID == EXAM.study_uid
    assert ds.AccessionNumber == EXAM.accession
    assert (ds.PatientSex, ds.PatientBirthDate, ds.StudyDate, ds.StudyTime) == ("F", "19610304", "20261127", "091200")
    assert ds.Modality == "US"
    assert ds.ContentDate == "20261127"
    assert ds.ContentTime == "093005"
    assert ds.SpecificCharacterSet == "ISO_IR 192"


def test_uids_are_new_and_stable_for_the_same_input():
    jpeg = encode(picture(), "JPEG")
    first, again = one(jpeg)[0], one(jpeg)[0]
    other_exam = one(jpeg, ExamIdentity(accession="X2", study_uid="1.2.3.4", patient_id="P2"))[0]
    other_file = one(encode(picture("L"), "JPEG"))[0]
    assert first.sop_instance_uid == again.sop_instance_uid
    assert first.series_instance_uid == again.series_instance_uid == other_file.series_instance_uid
    assert len({first.sop_instance_uid, other_exam.sop_instance_uid, other_file.sop_instance_uid}) == 3
    assert first.sop_instance_uid.startswith("2.25.")
    assert len(first.sop_instance_uid) <= 64
    assert EXAM.study_uid not in (first.sop_instance_uid, first.series_instance_uid)


@needs_dcmtk
@pytest.mark.parametrize("kind", ["progressive", "cmyk"])
def test_non_baseline_jpeg_is_rewritten_as_baseline(tmp_path, kind):
    img = picture()
    jpeg = encode(img, "JPEG", progressive=True, quality=92) if kind == "progressive" else encode(
        img.convert("CMYK"), "JPEG", quality=92)
    instance, ds = one(jpeg)
    assert instance.kind is ConversionKind.JPEG_REENCODED
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"
    assert "baseline" in ds.DerivationDescription
    dcmdump_clean(tmp_path, instance.data)
    decoded = dcmtk_pixels(tmp_path, instance.data).astype(int)
    reference = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)
    assert np.abs(decoded - reference).mean() < 4  # one more lossy generation, no shift or colour swap


@needs_dcmtk
@pytest.mark.parametrize(("fmt", "mode", "photometric", "samples", "bits"), [
    ("PNG", "RGB", "RGB", 3, 8),
    ("PNG", "L", "MONOCHROME2", 1, 8),
    ("PNG", "P", "RGB", 3, 8),
    ("BMP", "RGB", "RGB", 3, 8),
    ("BMP", "1", "MONOCHROME2", 1, 8),
    ("TIFF", "RGB", "RGB", 3, 8),
    ("TIFF", "CMYK", "RGB", 3, 8),
])
def test_images_become_secondary_capture(tmp_path, fmt, mode, photometric, samples, bits):
    img = picture(mode)
    instance, ds = one(encode(img, fmt))
    assert instance.kind is ConversionKind.SECONDARY_CAPTURE
    assert instance.source_format == fmt.lower()
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert (ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.BitsAllocated) == (photometric, samples, bits)
    expected = np.asarray(img.convert("RGB" if samples == 3 else "L"))
    assert np.array_equal(ds.pixel_array, expected)
    dcmdump_clean(tmp_path, instance.data)
    assert np.array_equal(dcmtk_pixels(tmp_path, instance.data), expected)


def test_sixteen_bit_grey_keeps_its_depth():
    grey = (np.arange(64 * 96, dtype=np.uint32).reshape(64, 96) * 10).astype(np.uint16)
    _, ds = one(encode(Image.fromarray(grey), "PNG"))
    assert (ds.PhotometricInterpretation, ds.BitsAllocated, ds.BitsStored) == ("MONOCHROME2", 16, 16)
    assert np.array_equal(ds.pixel_array, grey)


def test_grey_content_saved_as_colour_is_stored_grey():
    grey = picture("L").convert("RGB")
    _, ds = one(encode(grey, "PNG"))
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert ds.SamplesPerPixel == 1


def test_transparency_is_flattened_onto_black():
    img = picture("RGBA")
    alpha = np.full((64, 96), 255, np.uint8)
    alpha[:, :48] = 0
    img.putalpha(Image.fromarray(alpha))
    _, ds = one(encode(img, "PNG"))
    pixels = ds.pixel_array
    assert ds.PhotometricInterpretation == "RGB"
    assert not pixels[:, :48].any()
    assert np.array_equal(pixels[:, 48:], np.asarray(picture())[:, 48:])


def test_each_tiff_page_is_one_instance():
    pages = [picture(), picture("L")]
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    instances = convert(data, EXAM, at=AT, instance_number=5)
    assert len(instances) == 2
    assert len({i.sop_instance_uid for i in instances}) == 2
    numbers = [pydicom.dcmread(io.BytesIO(i.data)).InstanceNumber for i in instances]
    assert numbers == [5, 6]


@needs_dcmtk
def test_pdf_becomes_encapsulated_pdf(tmp_path):
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Endoscopy report")
    page.save()
    pdf = out.getvalue()
    instance, ds = one(pdf, title="内镜报告")
    assert instance.kind is ConversionKind.ENCAPSULATED_PDF
    assert ds.SOPClassUID == ENCAPSULATED_PDF
    assert ds.Modality == "DOC"
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert ds.EncapsulatedDocument[: len(pdf)] == pdf
    assert ds.EncapsulatedDocumentLength == len(pdf)
    assert ds.DocumentTitle == "内镜报告"
    assert ds.StudyInstanceUID == EXAM.study_uid
    dcmdump_clean(tmp_path, instance.data)


@pytest.mark.parametrize(("data", "error", "words"), [
    (b"", UnreadableFile, "文件为空"),
    (b"plain text, not an image", UnsupportedFile, "不支持的文件格式"),
    (b"\x00" * 128 + b"DICM" + b"\x00" * 64, UnsupportedFile, "已是 DICOM"),
    (b"%PDF-1.4\n1 0 obj\n<< >>\n", UnreadableFile, "PDF 文件已损坏"),
])
def test_unusable_files_are_refused_in_chinese(data, error, words):
    with pytest.raises(error) as exc:
        convert(data, EXAM, at=AT)
    assert words in exc.value.message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "BMP"])
def test_a_file_cut_short_is_unreadable(fmt):
    data = encode(picture(size=(400, 300)), fmt)
    with pytest.raises(UnreadableFile) as exc:
        convert(data[: len(data) // 2], EXAM, at=AT)
    assert "损坏" in exc.value.message
    assert exc.value.code == "unreadable_file"


def test_corrupt_jpeg_headers_are_unreadable():
    jpeg = bytearray(encode(picture(), "JPEG"))
    dqt = jpeg.index(b"\xff\xdb")
    jpeg[dqt + 2:dqt + 4] = b"\xff\xff"  # a segment length that runs past the end
    with pytest.raises(UnreadableFile):
        convert(bytes(jpeg), EXAM, at=AT)


def test_formats_are_told_by_their_bytes_not_their_names():
    assert [detect_format(encode(picture(), f)) for f in ("JPEG", "PNG", "BMP", "TIFF")] == [
        "jpeg", "png", "bmp", "tiff"]
    assert detect_format(b"%PDF-1.7\n") == "pdf"
    assert detect_format(b"GIF89a") is None


def _without_jfif(jpeg: bytes) -> bytearray:
    assert jpeg[2:4] == b"\xff\xe0"
    length = int.from_bytes(jpeg[4:6], "big")
    return bytearray(jpeg[:2] + jpeg[4 + length:])


def test_colour_hints_of_the_stream_choose_the_photometric_interpretation():
    jpeg = encode(picture(), "JPEG", quality=90)
    rgb_ids = _without_jfif(jpeg)
    sof = rgb_ids.index(b"\xff\xc0")
    for i, cid in enumerate(b"RGB"):
        rgb_ids[sof + 10 + 3 * i] = cid
    assert read_frame(bytes(rgb_ids)).photometric == "RGB"
    adobe = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"  # transform 0: no colour transform
    assert read_frame(jpeg[:2] + adobe + jpeg[2:]).photometric == "RGB"
    assert read_frame(jpeg).photometric == "YBR_FULL_422"
    frame = read_frame(jpeg)
    assert (frame.rows, frame.columns, frame.components, frame.baseline) == (64, 96, 3, True)


def test_progressive_streams_are_not_baseline():
    frame = read_frame(encode(picture(), "JPEG", progressive=True))
    assert frame.sof == 0xC2
    assert not frame.baseline
    with pytest.raises(BadJpeg):
        read_frame(b"\xff\xd8\xff\xd9")
