"""Projection images: a chest PA radiograph (DX) and screening mammograms (MG, CC and MLO of each breast),
painted on a coarse grid, smoothed and enlarged to detector resolution, with detector noise."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DigitalMammographyXRayImageStorageForPresentation as MG_STORAGE
from pydicom.uid import DigitalXRayImageStorageForPresentation as DX_STORAGE
from scipy import ndimage

from backend.dicom.synthetic.canvas import F32
from backend.dicom.synthetic.headers import add_pixel_module, new_instance, set_pixels

DX_MATRIX, DX_PIXEL_MM = 2048, 0.2
MG_ROWS, MG_COLS, MG_PIXEL_MM = 2048, 1664, 0.1
ZOOM = 4


def _grid(rows: int, cols: int) -> tuple[F32, F32]:
    v = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    u = np.linspace(-1, 1, cols, dtype=np.float32)[None, :]
    return u, v


def _finish(img: F32, rng: np.random.Generator, blur: float, noise: float) -> np.ndarray:
    """Smooth the coarse painting, enlarge it to the detector, add noise and scale to 12 bits."""
    big = ndimage.zoom(ndimage.gaussian_filter(img, blur), ZOOM, order=1)
    big += rng.standard_normal(big.shape, dtype=np.float32) * np.float32(noise)
    return np.asarray(np.clip(np.rint(big * 4095.0), 0, 4095), dtype=np.uint16)


def chest_pa_pixels(rng: np.random.Generator) -> np.ndarray:
    """A posteroanterior chest radiograph: patient's right on the image left, head at the top."""
    u, v = _grid(DX_MATRIX // ZOOM, DX_MATRIX // ZOOM)
    img = np.full(np.broadcast_shapes(u.shape, v.shape), 0.04, np.float32)
    body = (u / (0.78 + 0.1 * np.clip(v + 0.4, 0, 1))) ** 2 + ((v - 0.2) / 1.05) ** 2 < 1
    img[body | ((np.abs(u) < 0.16) & (v < -0.6))] = 0.55
    tilt = float(rng.uniform(-0.03, 0.03))
    for side in (-1.0, 1.0):
        dome = 0.42 + (0.06 if side < 0 else 0.1) - 0.5 * (u - side * 0.35) ** 2
        lung = ((u - side * 0.36) / 0.27) ** 2 + ((v + 0.05 + tilt) / 0.72) ** 2 < 1
        lung &= (v < dome) & (side * u > 0.09)
        img = np.where(lung, 0.2 + 0.08 * (v + 0.7), img).astype(np.float32)
        for k in range(9):  # posterior ribs: arcs falling laterally
            y0 = -0.62 + k * 0.13
            arc = np.abs(v - (y0 + 0.35 * (u - side * 0.1) ** 2)) < 0.022
            img[arc & lung] += 0.12
        clav = np.abs(v - (-0.63 + 0.3 * np.abs(u))) < 0.03
        img[clav & (side * u > 0.05) & (side * u < 0.55)] += 0.2
    heart = ((u - 0.1) / 0.3) ** 2 + ((v - 0.3) / 0.24) ** 2 < 1
    img[heart] = np.maximum(img[heart], 0.72)
    img[(np.abs(u) < 0.1) & (v < 0.4) & body] = 0.75
    img[(np.abs(u) < 0.025) & (v < -0.15) & (v > -0.75)] = 0.45
    img[(v > 0.55) & body] = np.maximum(img[(v > 0.55) & body], 0.7)
    markings = ndimage.gaussian_filter(rng.standard_normal(img.shape).astype(np.float32), 1.2)
    img += 0.025 * markings * (img < 0.4) * (img > 0.15)
    return _finish(img, rng, 1.5, 0.012)


def mammogram_pixels(rng: np.random.Generator, *, laterality: str, view: str) -> np.ndarray:
    """A breast against the chest wall (right breast: chest wall on the image right), MLO with pectoralis."""
    u, v = _grid(MG_ROWS // ZOOM, MG_COLS // ZOOM)
    wall = 1.0 if laterality == "R" else -1.0
    depth = np.abs(u - wall)  # 0 at the chest wall, 2 at the far edge of the detector
    radius = 1.55 * np.sqrt(np.clip(1 - (v / 0.95) ** 2, 0, 1))
    breast = depth < radius
    img = np.full(np.broadcast_shapes(u.shape, v.shape), 0.02, np.float32)
    texture = ndimage.gaussian_filter(rng.standard_normal(img.shape).astype(np.float32), 2.0)
    texture = np.clip((texture / texture.std() + 0.5) * 0.4, 0, 1)
    # Glandular tissue gathers behind the nipple and thins toward the skin and the chest wall.
    gland = np.exp(-(((depth - 0.8) / 0.55) ** 2) - (v / 0.55) ** 2)
    img[breast] = (0.33 + 0.3 * gland * texture + 0.06 * gland)[breast]
    img[breast & (depth > radius - 0.04)] = 0.5
    if view == "MLO":
        pect = (depth < 0.55 - 0.7 * (v + 1.0)) & breast
        img[pect] = 0.78
    for _ in range(5):
        rows, cols = MG_ROWS // ZOOM, MG_COLS // ZOOM
        cy, cx = int(rng.integers(rows // 4, 3 * rows // 4)), int(rng.integers(cols))
        if breast[cy, cx]:
            img[cy, cx] = 1.0
    return _finish(img, rng, 1.0, 0.008)


def add_dx_modules(ds: Dataset) -> None:
    """DX Series/Anatomy/Image/Detector/Positioning modules of a chest PA, For Presentation."""
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.ImageLaterality = "U"
    ds.PatientOrientation = ["L", "F"]
    ds.ImagerPixelSpacing = [DX_PIXEL_MM, DX_PIXEL_MM]
    ds.PixelSpacing = [DX_PIXEL_MM, DX_PIXEL_MM]
    ds.DetectorType = "SCINTILLATOR"
    ds.KVP, ds.ExposureTime, ds.XRayTubeCurrent = 120, 8, 250
    ds.DistanceSourceToDetector = 1800
    _presentation(ds)
    ds.ViewCodeSequence = _code("399348003", "SCT", "postero-anterior")
    ds.AnatomicRegionSequence = _code("51185008", "SCT", "Thorax")


def add_mg_modules(ds: Dataset, *, laterality: str, view: str) -> None:
    """Mammography Series/Image and DX Detector modules of one For Presentation view."""
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
    ds.BodyPartExamined = "BREAST"
    ds.ImageLaterality = laterality
    ds.ViewPosition = view
    orientation = {("R", "CC"): ["P", "L"], ("L", "CC"): ["A", "R"], ("R", "MLO"): ["P", "F"],
                   ("L", "MLO"): ["A", "F"]}
    ds.PatientOrientation = orientation[laterality, view]
    ds.ImagerPixelSpacing = [MG_PIXEL_MM, MG_PIXEL_MM]
    ds.DetectorType = "DIRECT"
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.BreastImplantPresent = "NO"
    ds.OrganExposed = "BREAST"
    ds.KVP, ds.ExposureTime, ds.XRayTubeCurrent = 29, 800, 100
    ds.BodyPartThickness, ds.CompressionForce = 52, 110
    _presentation(ds)
    ds.ViewCodeSequence = (_code("399162004", "SCT", "cranio-caudal") if view == "CC"
                           else _code("399368009", "SCT", "medio-lateral oblique"))
    ds.AnatomicRegionSequence = _code("76752008", "SCT", "Breast")


def _presentation(ds: Dataset) -> None:
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"


def _code(value: str, scheme: str, meaning: str) -> Sequence:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return Sequence([item])


def projection_instance(sop_class: str, sop_uid: str, at: datetime, pixels: np.ndarray) -> Dataset:
    """A DX or MG instance with its pixels; the caller adds patient, study, series and modality modules."""
    ds = new_instance(sop_class, sop_uid, at)
    add_pixel_module(ds, pixels.shape[0], pixels.shape[1], bits_stored=12, signed=False)
    set_pixels(ds, pixels)
    return ds


__all__ = ["DX_STORAGE", "MG_STORAGE", "add_dx_modules", "add_mg_modules", "chest_pa_pixels",
           "mammogram_pixels", "projection_instance"]
