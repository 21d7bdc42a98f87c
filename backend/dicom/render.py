"""Frames of an archived instance as pictures (pydicom + numpy + Pillow): decode once, window, encode.

Decoding covers what pydicom decodes with the installed plugins: native, deflated, RLE, JPEG baseline and
extended (Pillow), JPEG 2000 (Pillow) and JPEG-LS (pyjpegls). A frame is rescaled to modality values
(HU for CT) and kept as float32; `render` maps it through a linear VOI window to 8 bits and encodes PNG or
JPEG, optionally scaled down to fit a box (thumbnails)."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any, Final

import numpy as np
import pydicom
from PIL import Image
from pydicom import Dataset
from pydicom.pixels.utils import pixel_array

from backend.dicom.errors import UnreadableFile, UnsupportedFile

MEDIA_TYPES: Final = {"png": "image/png", "jpeg": "image/jpeg"}
JPEG_QUALITY: Final = 90


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame in modality values (float32, rows x columns; RGB frames keep 3 channels), with the
    window the instance proposes and the pixel spacing (mm) when it has one."""

    values: np.ndarray
    window: tuple[float, float]
    spacing: tuple[float, float] | None
    monochrome1: bool


def read_dataset(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(BytesIO(data), force=True)
    except Exception as exc:  # pydicom raises many kinds for a broken file
        raise UnreadableFile("影像文件无法读取", reason=str(exc)[:200]) from exc


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def decode_frame(ds: Dataset, number: int) -> Frame:
    """Frame `number` (1-based) of `ds` in modality values; UnsupportedFile when it has no pixels or
    its transfer syntax cannot be decoded here."""
    if "PixelData" not in ds:
        raise UnsupportedFile("该影像没有像素数据")
    count = frame_count(ds)
    if not 1 <= number <= count:
        raise IndexError(number)
    try:
        arr = ds.pixel_array if count == 1 else pixel_array(ds, index=number - 1)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError) as exc:
        raise UnsupportedFile("无法解码该影像的像素（传输语法不受支持）", reason=str(exc)[:200]) from exc
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    values = arr.astype(np.float32)
    if samples == 1:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        if slope != 1 or intercept != 0:
            values = values * np.float32(slope) + np.float32(intercept)
    return Frame(values, _window(ds, values), _spacing(ds),
                 str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1")


def _first(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        seq: list[Any] = list(value) if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else [value]
        return float(seq[0])
    except (TypeError, ValueError, IndexError):
        return None


def _window(ds: Dataset, values: np.ndarray) -> tuple[float, float]:
    centre, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if centre is not None and width is not None and width > 0:
        return centre, width
    lo, hi = float(values.min()), float(values.max())
    return (lo + hi) / 2, max(hi - lo, 1.0)


def _spacing(ds: Dataset) -> tuple[float, float] | None:
    raw = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    try:
        row, col = float(raw[0]), float(raw[1])
    except (TypeError, ValueError, IndexError):
        return None
    return (row, col) if row > 0 and col > 0 else None


def windowed(frame: Frame, centre: float, width: float) -> np.ndarray:
    """8-bit grey (or RGB) through the linear VOI function of PS3.3 C.11.2.1.2."""
    if frame.values.ndim == 3:  # colour: no VOI, only the range
        colour: np.ndarray = np.clip(frame.values, 0, 255).astype(np.uint8)
        return colour
    width = max(width, 1.0)
    low = centre - 0.5 - (width - 1) / 2
    scale = np.float32(255.0 / max(width - 1, 1.0))
    out: np.ndarray = np.clip((frame.values - np.float32(low)) * scale, 0, 255).astype(np.uint8)
    return np.subtract(255, out, dtype=np.uint8) if frame.monochrome1 else out


def render(frame: Frame, *, fmt: str = "png", window: tuple[float, float] | None = None,
           box: int | None = None, quality: int = JPEG_QUALITY) -> bytes:
    """The frame as PNG or JPEG bytes, windowed (`window` = centre, width; default the instance's),
    scaled down to fit `box` pixels when given."""
    centre, width = window or frame.window
    img = Image.fromarray(windowed(frame, centre, width))
    if box is not None and max(img.size) > box:
        img.thumbnail((box, box), Image.Resampling.BILINEAR)
    buf = BytesIO()
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=quality)
    else:
        img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()
