"""Small DICOM instances built in code for the imaging tests (a CT slice with a chosen header)."""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from backend.dicom.tags import header_of
from backend.domain.imaging import InstanceHeader

ROOT = "1.2.826.0.1.3680043.10.1234."


def ct_slice(*, study_uid: str | None = None, series_uid: str | None = None, sop_uid: str | None = None,
             accession: str = "", patient_id: str = "P1", study_date: str = "20261127", number: int = 1,
             size: int = 16, fill: int = 0, modality: str = "CT") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid or generate_uid(ROOT)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid(ROOT)
    ds.SeriesInstanceUID = series_uid or generate_uid(ROOT)
    ds.PatientID, ds.PatientName, ds.PatientSex = patient_id, "TEST^PATIENT", "M"
    ds.AccessionNumber, ds.StudyDate, ds.StudyTime = accession, study_date, "093000"
    ds.StudyID, ds.StudyDescription, ds.SeriesDescription = "1", "CT Chest", "Axial"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = modality, 1, number
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 1.0
    ds.PixelData = np.full((size, size), fill, dtype=np.int16).tobytes()
    return ds


def file_bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def header(ds: Dataset) -> InstanceHeader:
    return header_of(ds, transfer_syntax=str(ds.file_meta.TransferSyntaxUID))
