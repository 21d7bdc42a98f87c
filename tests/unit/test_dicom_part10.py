"""The Part-10 file written around received bytes: its File Meta group is byte for byte what pydicom's own
writer makes (ours is written by hand because pydicom's took a quarter of the receive path)."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

from backend.dicom.tags import IMPLEMENTATION_VERSION, PREAMBLE, part10


def _pydicom_file(encoded: bytes, sop_class: str, sop_uid: str, syntax: str, source_ae: str) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = UID(sop_class), UID(sop_uid)
    meta.TransferSyntaxUID, meta.ImplementationClassUID = UID(syntax), PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    if source_ae:
        meta.SourceApplicationEntityTitle = source_ae
    buf = BytesIO()
    buf.write(PREAMBLE)
    write_file_meta_info(DicomFileLike(buf), meta, enforce_standard=True)
    return buf.getvalue() + encoded


@pytest.mark.parametrize(("sop_class", "sop_uid", "syntax", "source_ae"), [
    ("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5", "1.2.840.10008.1.2.1", "CT01"),  # odd UID, even AE
    ("1.2.840.10008.5.1.4.1.1.7", "1.2.3.44.55", "1.2.840.10008.1.2.4.80", "ODD"),  # even UID, odd AE
    ("1.2.840.10008.5.1.4.1.1.88.33", "2.25.123456789012345678901234567890", "1.2.840.10008.1.2", ""),
    ("1.2.840.10008.5.1.4.1.1.104.1", "1.2.3", "1.2.840.10008.1.2.4.50", "ABCDEFGHIJKLMNOP"),
])
def test_the_file_meta_group_equals_pydicoms(sop_class: str, sop_uid: str, syntax: str, source_ae: str) -> None:
    encoded = b"\x08\x00\x16\x00UI\x04\x00abcd"  # any dataset bytes: kept as they are
    ours = part10(encoded, sop_class_uid=sop_class, sop_instance_uid=sop_uid, transfer_syntax=syntax,
                  source_ae=source_ae)
    assert ours == _pydicom_file(encoded, sop_class, sop_uid, syntax, source_ae)
    meta = dcmread(BytesIO(part10(b"", sop_class_uid=sop_class, sop_instance_uid=sop_uid, transfer_syntax=syntax,
                                  source_ae=source_ae))).file_meta  # pydicom reads it back
    assert (meta.MediaStorageSOPInstanceUID, meta.TransferSyntaxUID) == (sop_uid, syntax)
    assert ours.endswith(encoded)
