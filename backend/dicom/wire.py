"""A strict walk over a dataset's encoded bytes (PS3.5 7.1): every element header well formed, every
length inside the buffer, sequences and encapsulated pixel data closed, tags ascending. pydicom reads
leniently (a truncated value comes back short, implicit data read as explicit is guessed); the Storage SCP
refuses such bytes instead of archiving them, with the reason this returns."""

from __future__ import annotations

import struct

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
                       b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})
MAX_DEPTH = 16


class BadEncoding(ValueError):
    """The bytes are not a dataset in the negotiated transfer syntax (truncated, garbage, other VR)."""


def check_encoding(raw: bytes, *, implicit: bool, little: bool) -> None:
    """Raise BadEncoding unless `raw` is a whole dataset in this transfer syntax."""
    if len(raw) < 8:
        raise BadEncoding("too short")
    end = _dataset(raw, 0, len(raw), implicit=implicit, endian="<" if little else ">", depth=0, in_item=False)
    if end != len(raw):
        raise BadEncoding("trailing bytes")


def _tag(raw: bytes, pos: int, endian: str) -> int:
    group, elem = struct.unpack_from(endian + "HH", raw, pos)
    return int(group) << 16 | int(elem)


def _dataset(raw: bytes, pos: int, end: int, *, implicit: bool, endian: str, depth: int, in_item: bool) -> int:
    """Walk elements from `pos` to `end` (or to an item delimiter when `in_item`); return the end offset."""
    if depth > MAX_DEPTH:
        raise BadEncoding("sequences nested too deep")
    last = -1
    while pos < end:
        if pos + 8 > end:
            raise BadEncoding("element header truncated")
        tag = _tag(raw, pos, endian)
        if tag == ITEM_END and in_item:
            return pos + 8
        if tag <= last and tag >> 16 != 0xFFFE:
            raise BadEncoding("tags out of order")
        last = tag
        vr, length, pos = _header(raw, pos, end, tag, implicit=implicit, endian=endian)
        if length == UNDEFINED:
            pos = _undefined(raw, pos, end, tag, vr, implicit=implicit, endian=endian, depth=depth)
        else:
            if pos + length > end:
                raise BadEncoding("value longer than the data")
            if vr == b"SQ":
                _items(raw, pos, pos + length, implicit=implicit, endian=endian, depth=depth)
            pos += length
    if in_item:
        raise BadEncoding("item not closed")
    return pos


def _header(raw: bytes, pos: int, end: int, tag: int, *, implicit: bool, endian: str) -> tuple[bytes, int, int]:
    if implicit or tag >> 16 == 0xFFFE:
        (length,) = struct.unpack_from(endian + "I", raw, pos + 4)
        return (b"SQ" if length == UNDEFINED and tag != 0x7FE00010 else b""), int(length), pos + 8
    vr = raw[pos + 4:pos + 6]
    if vr in SHORT_VRS:
        (length,) = struct.unpack_from(endian + "H", raw, pos + 6)
        return vr, int(length), pos + 8
    if vr in LONG_VRS:
        if pos + 12 > end:
            raise BadEncoding("element header truncated")
        (length,) = struct.unpack_from(endian + "I", raw, pos + 8)
        return vr, int(length), pos + 12
    raise BadEncoding("not a value representation (other transfer syntax, or not DICOM)")


def _undefined(raw: bytes, pos: int, end: int, tag: int, vr: bytes, *, implicit: bool, endian: str,
               depth: int) -> int:
    if tag == 0x7FE00010 or vr in (b"OB", b"OW"):
        return _fragments(raw, pos, end, endian)  # encapsulated pixel data; SQ and UN of undefined length hold items
    return _items(raw, pos, end, implicit=implicit, endian=endian, depth=depth, until_delimiter=True)


def _items(raw: bytes, pos: int, end: int, *, implicit: bool, endian: str, depth: int,
           until_delimiter: bool = False) -> int:
    while pos < end:
        if pos + 8 > end:
            raise BadEncoding("item header truncated")
        tag = _tag(raw, pos, endian)
        (length,) = struct.unpack_from(endian + "I", raw, pos + 4)
        pos += 8
        if tag == SEQ_END and until_delimiter:
            return pos
        if tag != ITEM:
            raise BadEncoding("sequence item expected")
        if length == UNDEFINED:
            pos = _dataset(raw, pos, end, implicit=implicit, endian=endian, depth=depth + 1, in_item=True)
        else:
            if pos + length > end:
                raise BadEncoding("item longer than the data")
            _dataset(raw, pos, pos + length, implicit=implicit, endian=endian, depth=depth + 1, in_item=False)
            pos += length
    if until_delimiter:
        raise BadEncoding("sequence not closed")
    return pos


def _fragments(raw: bytes, pos: int, end: int, endian: str) -> int:
    while pos + 8 <= end:
        tag = _tag(raw, pos, endian)
        (length,) = struct.unpack_from(endian + "I", raw, pos + 4)
        pos += 8
        if tag == SEQ_END:
            return pos
        if tag != ITEM or length == UNDEFINED or pos + length > end:
            raise BadEncoding("pixel data fragments broken")
        pos += length
    raise BadEncoding("pixel data not closed")
