"""Pixels out of PNG, BMP, TIFF (and non-baseline JPEG) through Pillow, in the layout DICOM stores them:
grey as MONOCHROME2 (8 or 16 bits), colour as interleaved RGB, transparency flattened onto black."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from io import BytesIO
from typing import Final

import numpy as np
from PIL import Image, ImageSequence

from backend.dicom.errors import UnreadableFile, UnsupportedFile

# Well under Pillow's decompression-bomb threshold (89 M pixels), above any screen capture or scan.
MAX_PIXELS: Final = 64_000_000
FORMAT_NAMES: Final = {"png": "PNG", "bmp": "BMP", "tiff": "TIFF", "jpeg": "JPEG"}
# Pillow's decoders raise any of these for a corrupt or truncated stream.
DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)


@dataclass(frozen=True, slots=True)
class Raster:
    """Native (uncompressed) pixel data and the Image Pixel attributes that describe it."""

    pixels: bytes
    rows: int
    columns: int
    samples: int
    bits: int
    photometric: str


def decode_image(data: bytes, fmt: str) -> list[Raster]:
    """Decode every frame (TIFF pages) of a PNG, BMP or TIFF file."""
    name = FORMAT_NAMES.get(fmt, fmt.upper())
    try:
        with Image.open(BytesIO(data)) as img:
            _check_size(img)
            frames = ImageSequence.all_frames(img) if fmt == "tiff" else [img.copy()]
            return [_raster(frame) for frame in frames]
    except (UnsupportedFile, UnreadableFile):
        raise
    except Image.DecompressionBombError as exc:
        raise UnsupportedFile(f"{name} 图像尺寸过大，无法转换") from exc
    except DECODE_ERRORS as exc:
        raise UnreadableFile(f"{name} 图像已损坏或不完整，无法读取", reason=str(exc)[:200]) from exc


def reencode_baseline(data: bytes, *, exotic: bool) -> bytes:
    """Decode a non-baseline JPEG and write one baseline stream (source tables kept where possible).

    `exotic` (lossless or 12-bit coding) makes a decoding failure an unsupported encoding rather than a
    corrupt file: Pillow's libjpeg decodes neither.
    """
    try:
        with Image.open(BytesIO(data)) as img:
            _check_size(img)
            img.load()
            out = BytesIO()
            if img.mode in ("L", "RGB"):
                img.save(out, "JPEG", quality="keep")
            else:
                img.convert("RGB").save(out, "JPEG", quality=95)
            return out.getvalue()
    except UnsupportedFile:
        raise
    except DECODE_ERRORS as exc:
        if exotic:
            raise UnsupportedFile("不支持的 JPEG 编码（无损或 12 位 JPEG），请导出为普通 JPEG") from exc
        raise UnreadableFile("JPEG 文件已损坏或不完整，无法读取", reason=str(exc)[:200]) from exc


def _check_size(img: Image.Image) -> None:
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise UnsupportedFile(f"图像尺寸过大（{width}×{height}），无法转换")


def _raster(img: Image.Image) -> Raster:
    img.load()
    mode = img.mode
    if mode == "F":
        raise UnsupportedFile("不支持浮点像素的 TIFF 图像")
    if mode.startswith("I"):
        return _grey16(np.asarray(img))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        img = Image.alpha_composite(Image.new("RGBA", img.size, (0, 0, 0, 255)), img.convert("RGBA"))
    if mode in ("1", "L"):
        grey = np.asarray(img.convert("L"))
        return Raster(grey.tobytes(), grey.shape[0], grey.shape[1], 1, 8, "MONOCHROME2")
    rgb = np.asarray(img.convert("RGB"))
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        # Grey content saved as colour (common for ultrasound captures): store it as grey, a third the size.
        return Raster(np.ascontiguousarray(r).tobytes(), rgb.shape[0], rgb.shape[1], 1, 8, "MONOCHROME2")
    return Raster(rgb.tobytes(), rgb.shape[0], rgb.shape[1], 3, 8, "RGB")


def _grey16(arr: np.ndarray) -> Raster:
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 0xFFFF):
        raise UnsupportedFile("不支持超过 16 位的灰度图像")
    grey = arr.astype("<u2")
    return Raster(grey.tobytes(), grey.shape[0], grey.shape[1], 1, 16, "MONOCHROME2")
