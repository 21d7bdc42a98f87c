"""Reads what DICOM needs from a JPEG's marker segments (frame type, size, components, colour hints)
without decoding a pixel, so a baseline JPEG can be encapsulated byte for byte (standards.md 3.2)."""

from __future__ import annotations

from dataclasses import dataclass

SOI = b"\xff\xd8"
# Start-of-frame markers (ITU T.81 B.1.1.3); C4 (DHT), C8 (JPG) and CC (DAC) sit in the same range.
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
BASELINE = 0xC0
# Markers without a length field.
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class BadJpeg(ValueError):
    """The bytes are not a well-formed JPEG stream (truncated, corrupt headers, no frame)."""


@dataclass(frozen=True, slots=True)
class JpegFrame:
    """The frame header and the colour hints of one JPEG stream."""

    sof: int
    precision: int
    rows: int
    columns: int
    components: int
    component_ids: tuple[int, ...]
    jfif: bool
    adobe_transform: int | None

    @property
    def baseline(self) -> bool:
        return self.sof == BASELINE and self.precision == 8 and self.components in (1, 3)

    @property
    def photometric(self) -> str:
        """The Photometric Interpretation of the stream as stored (CP 1654: YBR_FULL_422 for YCbCr)."""
        if self.components == 1:
            return "MONOCHROME2"
        # libjpeg's rule: an Adobe marker says the transform; without one, JFIF means YCbCr and
        # component ids 'R','G','B' mean no transform.
        if self.adobe_transform is not None:
            return "RGB" if self.adobe_transform == 0 else "YBR_FULL_422"
        if not self.jfif and self.component_ids == (0x52, 0x47, 0x42):
            return "RGB"
        return "YBR_FULL_422"


def read_frame(data: bytes | memoryview) -> JpegFrame:
    """Walk the marker segments up to the first start-of-frame; raise BadJpeg on anything malformed.

    The end-of-image marker must close the stream (trailing padding aside), which catches the common
    corruption of a file cut short in transfer without decoding the entropy-coded data.
    """
    buf = memoryview(data)
    size = len(buf)
    if size < 4 or bytes(buf[:2]) != SOI:
        raise BadJpeg("no start-of-image marker")
    if b"\xff\xd9" not in bytes(buf[max(2, size - 64):]):
        raise BadJpeg("no end-of-image marker (file cut short)")
    pos, jfif, adobe = 2, False, None
    while pos + 4 <= size:
        if buf[pos] != 0xFF:
            raise BadJpeg(f"marker expected at byte {pos}")
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in STANDALONE:
            pos += 2
            continue
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        end = pos + 2 + length
        if length < 2 or end > size:
            raise BadJpeg(f"segment {marker:02X} runs past the end")
        body = buf[pos + 4:end]
        if marker == 0xE0 and bytes(body[:5]) == b"JFIF\x00":
            jfif = True
        elif marker == 0xEE and bytes(body[:5]) == b"Adobe" and len(body) >= 12:
            adobe = body[11]
        elif marker in SOF_MARKERS:
            return _frame(marker, body, jfif=jfif, adobe=adobe)
        elif marker in (0xDA, 0xD9):
            break
        pos = end
    raise BadJpeg("no start-of-frame header")


def _frame(marker: int, body: memoryview, *, jfif: bool, adobe: int | None) -> JpegFrame:
    if len(body) < 6:
        raise BadJpeg("start-of-frame header too short")
    precision, rows, columns, ncomp = body[0], (body[1] << 8) | body[2], (body[3] << 8) | body[4], body[5]
    if len(body) < 6 + 3 * ncomp or ncomp == 0 or columns == 0:
        raise BadJpeg("start-of-frame header inconsistent")
    if rows == 0:  # the height comes later in a DNL segment: no DICOM header can be written up front
        raise BadJpeg("image height deferred to a DNL marker")
    ids = tuple(body[6 + 3 * i] for i in range(ncomp))
    return JpegFrame(sof=marker, precision=precision, rows=rows, columns=columns, components=ncomp,
                     component_ids=ids, jfif=jfif, adobe_transform=adobe)
