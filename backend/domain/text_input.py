"""The one validator of text and numbers that people and systems send us, whatever the channel.

API bodies and query strings, HL7 orders, pages and imports all pass their values through these rules, so a
name that one channel refuses is refused by every other: C0 control characters (tab and newline only in
free text), bidirectional overrides that reorder what staff read (王\\u202e伟杰 shows as 王杰伟), lone
surrogates, over-long values, and integers beyond what the database stores are refused with a Chinese
reason. Characters beyond the Basic Plane (GB 18030 extensions B-G, e.g. 𠀀) are valid text.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from backend.domain.errors import InvalidInput

# Signed 32-bit: the range of the database's integer columns (ids, counts, minutes).
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
NAME_MAX: Final = 64
TEXT_MAX: Final = 20000

# Embeddings, overrides and isolates (U+202A-202E, U+2066-2069): they reorder the text a person reads.
BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FREE_TEXT_CONTROLS: Final = frozenset("\t\n\r")


def problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable text, in Chinese; None when it is."""
    allowed = FREE_TEXT_CONTROLS if multiline else frozenset()
    for ch in value:
        code = ord(ch)
        if (code < 0x20 or code == 0x7F) and ch not in allowed:
            return "含有不可见的控制字符" if ch != "\x00" else "含有空字符（NUL）"
        if ch in BIDI_CONTROLS:
            return "含有改变文字方向的控制字符"
        if 0xD800 <= code <= 0xDFFF:
            return "含有无效的 Unicode 字符（孤立代理项）"
        if 0x80 <= code <= 0x9F:
            return "含有不可见的控制字符"
    return None


def check_text(value: str, *, field: str, max_len: int = TEXT_MAX, multiline: bool = True) -> str:
    """Return `value` (CR LF made LF) or refuse it with the field's Chinese name and the reason."""
    reason = problem(value, multiline=multiline)
    if reason is not None:
        raise InvalidInput(f"{field}{reason}", code="invalid_text", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{field}不能超过 {max_len} 个字符", code="text_too_long", field=field)
    return value.replace("\r\n", "\n") if multiline else value


def check_name(value: str, *, field: str = "姓名", max_len: int = NAME_MAX) -> str:
    """A person's name: one line, no controls, not blank, NFC-normalised (one code sequence per glyph)."""
    name = check_text(value.strip(), field=field, max_len=max_len, multiline=False)
    if not name:
        raise InvalidInput(f"{field}必填", code="invalid_name", field=field)
    return unicodedata.normalize("NFC", name)


def check_int(value: int, *, field: str, lo: int = INT_MIN, hi: int = INT_MAX) -> int:
    """An integer the database can store (and the caller's own bounds)."""
    if not lo <= value <= hi:
        raise InvalidInput(f"{field}超出范围（{lo}–{hi}）", code="int_out_of_range", field=field)
    return value
