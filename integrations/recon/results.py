"""The derived series the emulated reconstruction system returns for one nodule: a CT series in the source's
study and frame of reference, DERIVED\\SECONDARY, referencing the source images it was computed from."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from integrations.recon.reconstruction import Finding, TargetGrid, Volume

# pydicom's root, as for every UID the emulator derives; a real vendor uses its own.
RECON_UID_ROOT = "1.2.826.0.1.3680043.8.498."
INTERCEPT = -1024.0
SERIES_NUMBER_BASE = 900
COPIED = ("SpecificCharacterSet", "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge",
          "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID", "ReferringPhysicianName",
          "StudyDescription", "FrameOfReferenceUID", "PositionReferenceIndicator", "BodyPartExamined",
          "PatientPosition", "KVP", "ConvolutionKernel")


def derived_series(vol: Volume, finding: Finding, number: int, grid: TargetGrid, hu: npt.NDArray[np.float32],
                   *, at: datetime) -> list[Dataset]:
    """One instance per target slice (lowest first), UIDs derived from the source series and the nodule."""
    source = vol.instances[0]
    series_uid = generate_uid(RECON_UID_ROOT, [source.SeriesInstanceUID, "target", str(number), str(grid)])
    start = grid.first_position(vol, np.array(finding.center))
    stored = np.clip(np.rint(hu) - INTERCEPT, -32768, 32767).astype(np.int16)
    refs = _source_refs(vol, start, grid)
    # What every slice of the series shares is built once (pydicom elements are costly to make one by one):
    # each slice is a new dataset over a copy of the header's elements (never changed: the slice's own UIDs,
    # position and pixels are elements the header lacks).
    header = _header(source, finding, number, grid, at)
    header.SeriesInstanceUID = series_uid
    header.SourceImageSequence = Sequence([_source_item(src) for src in refs])
    header.ReferencedSeriesSequence = _series_ref(source, refs)
    out = []
    for k in range(grid.slices):
        ds = Dataset(dict(header))
        ds.file_meta = FileMetaDataset(dict(header.file_meta))
        sop_uid = generate_uid(RECON_UID_ROOT, [series_uid, str(k)])
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.InstanceNumber = k + 1
        position = start + k * grid.slice_mm * vol.normal
        ds.ImagePositionPatient = [f"{v:.10g}" for v in position]
        ds.SliceLocation = f"{float(position @ vol.normal):.10g}"
        ds.PixelData = stored[k].tobytes()
        out.append(ds)
    return out


def _header(source: Dataset, finding: Finding, number: int, grid: TargetGrid, at: datetime) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    for keyword in COPIED:
        if keyword in source:
            setattr(ds, keyword, source[keyword].value)
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.SeriesNumber = SERIES_NUMBER_BASE + number
    ds.SeriesDescription = f"Target recon nodule {number} ({finding.diameter_mm:.0f} mm)"
    ds.SeriesDate = ds.ContentDate = ds.InstanceCreationDate = at.strftime("%Y%m%d")
    ds.SeriesTime = ds.ContentTime = ds.InstanceCreationTime = at.strftime("%H%M%S")
    ds.Manufacturer, ds.ManufacturerModelName, ds.StationName = "RadOps", "RECON emulator", "RECON"
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.DerivationDescription = (
        f"Targeted reconstruction of nodule {number} (about {finding.diameter_mm:.1f} mm, mean "
        f"{finding.mean_hu:.0f} HU) centred at {', '.join(f'{c:.1f}' for c in finding.center)} mm: "
        f"{grid.fov_mm:g} mm field of view, {grid.pixel_mm:g} mm pixels, {grid.slice_mm:g} mm slices, "
        f"cubic spline resampling of series {source.SeriesInstanceUID}")[:1024]
    ds.DerivationCodeSequence = Sequence([_code("113072", "DCM", "Multiplanar reformatting")])
    ds.ImageOrientationPatient = list(source.ImageOrientationPatient)
    ds.PixelSpacing = [f"{grid.pixel_mm:.10g}"] * 2
    ds.SliceThickness = ds.SpacingBetweenSlices = f"{grid.slice_mm:.10g}"
    ds.ReconstructionDiameter = f"{grid.fov_mm:.10g}"
    ds.AcquisitionNumber = 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = grid.matrix
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = INTERCEPT, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = [-600, 40], [1500, 400]
    ds.WindowCenterWidthExplanation = ["LUNG", "MEDIASTINUM"]
    ds.BurnedInAnnotation, ds.LossyImageCompression = "NO", "00"
    return ds


def _source_refs(vol: Volume, start: npt.NDArray[np.float64], grid: TargetGrid) -> list[Dataset]:
    """The source slices within the target's extent along the normal (plus one slice either side)."""
    lo = float(start @ vol.normal) - vol.spacing[0]
    hi = lo + (grid.slices - 1) * grid.slice_mm + 2 * vol.spacing[0]
    return [d for d in vol.instances
            if lo <= float(np.array(d.ImagePositionPatient, float) @ vol.normal) <= hi]


def _source_item(src: Dataset) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = src.SOPClassUID
    item.ReferencedSOPInstanceUID = src.SOPInstanceUID
    item.PurposeOfReferenceCodeSequence = Sequence([_code("121322", "DCM",
                                                          "Source image for image processing operation")])
    return item


def _series_ref(source: Dataset, refs: list[Dataset]) -> Sequence:
    series = Dataset()
    series.SeriesInstanceUID = source.SeriesInstanceUID
    instances = []
    for src in refs:
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = src.SOPClassUID, src.SOPInstanceUID
        instances.append(item)
    series.ReferencedInstanceSequence = Sequence(instances)
    return Sequence([series])


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item
