"""Non-DICOM files of an exam become DICOM (HC-2, HC-3): baseline JPEG encapsulated byte for byte, other
images as Secondary Capture, PDF as Encapsulated PDF. Pure functions over bytes and the exam's identity.

UIDs are derived from the content and the exam, so the same file for the same exam always yields the same
SOP Instance UID (a re-sent attachment is the same instance, not a copy).
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from io import BytesIO
from typing import Final

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGBaseline8Bit

from backend.dicom.errors import UnreadableFile, UnsupportedFile
from backend.dicom.jpeg_header import BadJpeg, read_frame
from backend.dicom.raster import Raster, decode_image, reencode_baseline

SECONDARY_CAPTURE: Final = "1.2.840.10008.5.1.4.1.1.7"
ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
# Series numbers of converted objects: high enough to stay clear of the modality's own series.
IMAGE_SERIES_NUMBER: Final = 9001
DOCUMENT_SERIES_NUMBER: Final = 9002
# Namespace of the UIDs RadOps derives from content (a fixed random UUID: never change it).
UID_NAMESPACE: Final = uuid.UUID("6f1b7c3e-2d4a-5b8e-9c61-0a7d3e5f4b21")
SEQUENCE_DELIMITER: Final = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
SUPPORTED_TEXT: Final = "仅支持 JPEG、PNG、BMP、TIFF 图像和 PDF 文档"


class ConversionKind(StrEnum):
    JPEG_AS_IS = "jpeg_as_is"
    JPEG_REENCODED = "jpeg_reencoded"
    SECONDARY_CAPTURE = "secondary_capture"
    ENCAPSULATED_PDF = "encapsulated_pdf"


@dataclass(frozen=True, slots=True)
class ExamIdentity:
    """Who and what the converted objects belong to (copied from the exam, never from the file)."""

    accession: str
    study_uid: str
    patient_id: str
    patient_name: str = ""
    patient_sex: str = ""
    birth_date: date | None = None
    study_date: date | None = None
    study_time: time | None = None
    referring_physician: str = ""
    study_id: str = ""
    modality: str = "OT"


@dataclass(frozen=True, slots=True)
class ConvertedInstance:
    """One DICOM Part-10 file made from (one page of) a source file."""

    data: bytes
    kind: ConversionKind
    source_format: str
    source_sha256: str
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str


def detect_format(data: bytes) -> str | None:
    """'jpeg', 'png', 'bmp', 'tiff', 'pdf' or 'dicom' by the file's magic bytes; None when unknown."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[128:132] == b"DICM":
        return "dicom"
    return None


def convert(data: bytes, exam: ExamIdentity, *, at: datetime, instance_number: int = 1,
            title: str = "") -> list[ConvertedInstance]:
    """Convert one file into DICOM instances of `exam` (one per TIFF page, one otherwise).

    `at` is the conversion time in the site time zone; its wall-clock fields become Content and Instance
    Creation date and time. A corrupt file raises UnreadableFile, an unsupported one UnsupportedFile, each
    with a Chinese reason.
    """
    if not data:
        raise UnreadableFile("文件为空")
    fmt = detect_format(data)
    if fmt is None:
        raise UnsupportedFile(f"不支持的文件格式，{SUPPORTED_TEXT}")
    if fmt == "dicom":
        raise UnsupportedFile("该文件已是 DICOM 格式，无需转换")
    digest = hashlib.sha256(data).hexdigest()
    if fmt == "pdf":
        return [_pdf(data, exam, digest=digest, at=at, instance_number=instance_number, title=title)]
    if fmt == "jpeg":
        return [_jpeg(data, exam, digest=digest, at=at, instance_number=instance_number)]
    rasters = decode_image(data, fmt)
    return [_secondary_capture(r, exam, fmt=fmt, digest=digest, at=at, index=i, instance_number=instance_number)
            for i, r in enumerate(rasters)]


def _uid(*parts: str) -> str:
    """A name-based UUID (RFC 9562 v5) under the 2.25 root: the same parts always give the same UID."""
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, '|'.join(parts)).int}"


def _jpeg(data: bytes, exam: ExamIdentity, *, digest: str, at: datetime, instance_number: int) -> ConvertedInstance:
    try:
        frame = read_frame(data)
    except BadJpeg as exc:
        raise UnreadableFile("JPEG 文件已损坏或不完整，无法读取", reason=str(exc)) from exc
    stream, kind, source = data, ConversionKind.JPEG_AS_IS, frame
    if not frame.baseline:
        # Progressive, extended or CMYK streams have no transfer syntax clouds accept: decode and write
        # one baseline stream (with the source's quantisation tables where it has usable ones).
        exotic = frame.sof in (0xC3, 0xC7, 0xCB, 0xCF) or frame.precision != 8
        stream, kind = reencode_baseline(data, exotic=exotic), ConversionKind.JPEG_REENCODED
        frame = read_frame(stream)
    ds = _image_dataset(exam, digest=digest, index=0, at=at, instance_number=instance_number)
    _pixel_module(ds, rows=frame.rows, columns=frame.columns, samples=frame.components, bits=8,
                  photometric=frame.photometric)
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.LossyImageCompressionRatio = f"{frame.rows * frame.columns * frame.components / len(stream):.2f}"
    if kind is ConversionKind.JPEG_REENCODED:
        ds.DerivationDescription = f"Re-encoded to baseline JPEG from SOF{source.sof - 0xC0}"
    return _finish(ds, kind=kind, fmt="jpeg", digest=digest, transfer_syntax=JPEGBaseline8Bit,
                   encapsulated_frame=stream)


def _secondary_capture(raster: Raster, exam: ExamIdentity, *, fmt: str, digest: str, at: datetime, index: int,
                       instance_number: int) -> ConvertedInstance:
    ds = _image_dataset(exam, digest=digest, index=index, at=at, instance_number=instance_number + index)
    _pixel_module(ds, rows=raster.rows, columns=raster.columns, samples=raster.samples, bits=raster.bits,
                  photometric=raster.photometric)
    ds.PixelData = raster.pixels
    ds["PixelData"].VR = "OW" if raster.bits > 8 else "OB"
    return _finish(ds, kind=ConversionKind.SECONDARY_CAPTURE, fmt=fmt, digest=digest,
                   transfer_syntax=ExplicitVRLittleEndian)


def _pdf(data: bytes, exam: ExamIdentity, *, digest: str, at: datetime, instance_number: int,
         title: str) -> ConvertedInstance:
    if b"%%EOF" not in data[-2048:] or b"startxref" not in data[-4096:]:
        raise UnreadableFile("PDF 文件已损坏或不完整，无法读取")
    ds = _common(exam, sop_class=ENCAPSULATED_PDF, sop_uid=_uid(digest, exam.study_uid, exam.accession, "pdf"),
                 series_uid=_uid(exam.study_uid, exam.accession, "radops-converted-documents"),
                 modality="DOC", series_number=DOCUMENT_SERIES_NUMBER, at=at)
    ds.ConversionType = "WSD"
    ds.InstanceNumber = instance_number
    ds.AcquisitionDateTime = at.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = title[:64]
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = data
    ds.EncapsulatedDocumentLength = len(data)
    return _finish(ds, kind=ConversionKind.ENCAPSULATED_PDF, fmt="pdf", digest=digest,
                   transfer_syntax=ExplicitVRLittleEndian)


def _image_dataset(exam: ExamIdentity, *, digest: str, index: int, at: datetime, instance_number: int) -> Dataset:
    ds = _common(exam, sop_class=SECONDARY_CAPTURE,
                 sop_uid=_uid(digest, exam.study_uid, exam.accession, f"image-{index}"),
                 series_uid=_uid(exam.study_uid, exam.accession, "radops-converted-images"),
                 modality=exam.modality or "OT", series_number=IMAGE_SERIES_NUMBER, at=at)
    ds.ConversionType = "WSD"
    ds.InstanceNumber = instance_number
    ds.PatientOrientation = ""
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DateOfSecondaryCapture = ds.ContentDate
    ds.TimeOfSecondaryCapture = ds.ContentTime
    return ds


def _common(exam: ExamIdentity, *, sop_class: str, sop_uid: str, series_uid: str, modality: str,
            series_number: int, at: datetime) -> Dataset:
    """Patient, General Study, General Series and SOP Common modules, filled from the exam."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = at.strftime("%Y%m%d"), at.strftime("%H%M%S")
    ds.ContentDate, ds.ContentTime = ds.InstanceCreationDate, ds.InstanceCreationTime
    ds.PatientName, ds.PatientID = exam.patient_name, exam.patient_id
    ds.PatientBirthDate = exam.birth_date.strftime("%Y%m%d") if exam.birth_date else ""
    ds.PatientSex = exam.patient_sex if exam.patient_sex in ("M", "F", "O") else ""
    ds.StudyInstanceUID, ds.AccessionNumber, ds.StudyID = exam.study_uid, exam.accession, exam.study_id[:16]
    ds.StudyDate = exam.study_date.strftime("%Y%m%d") if exam.study_date else ""
    ds.StudyTime = exam.study_time.strftime("%H%M%S") if exam.study_time else ""
    ds.ReferringPhysicianName = exam.referring_physician
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = modality, series_uid, series_number
    ds.Manufacturer = "RadOps"
    return ds


def _pixel_module(ds: Dataset, *, rows: int, columns: int, samples: int, bits: int, photometric: str) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0


def _encapsulated_pixel_data(frame: bytes) -> bytes:
    """The Pixel Data element up to one frame's bytes (PS3.5 A.4), written after the rest of the data set.

    Pixel Data (7FE0,0010) is the last element we write, so appending it to the written data set is a
    valid stream; it spares pydicom's `encapsulate` three copies of the JPEG, most of the time per file.
    Layout: the element header with undefined length, a Basic Offset Table holding offset 0, then the
    frame as one item padded to even length, then (after the frame) the sequence delimiter.
    """
    padded = len(frame) + len(frame) % 2
    return b"".join((
        struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF),
        struct.pack("<HHII", 0xFFFE, 0xE000, 4, 0),
        struct.pack("<HHI", 0xFFFE, 0xE000, padded),
    ))


def _finish(ds: Dataset, *, kind: ConversionKind, fmt: str, digest: str, transfer_syntax: str,
            encapsulated_frame: bytes | None = None) -> ConvertedInstance:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    ds.file_meta = meta
    out = BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    if encapsulated_frame is not None:
        out.write(_encapsulated_pixel_data(encapsulated_frame))
        out.write(encapsulated_frame)
        if len(encapsulated_frame) % 2:
            out.write(b"\x00")
        out.write(SEQUENCE_DELIMITER)
    return ConvertedInstance(data=out.getvalue(), kind=kind, source_format=fmt, source_sha256=digest,
                             sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=str(ds.SOPInstanceUID),
                             series_instance_uid=str(ds.SeriesInstanceUID), transfer_syntax_uid=transfer_syntax)
