"""The one masking (脱敏) rule set for public screens, kiosks and voice calls (standards.md 6.2).

Names: 1 char `*` (the one character is the whole name: nothing of it is shown), 2 chars `张*`, 3 chars
`张*明`, >= 4 chars keep first + last (`欧**明`), non-Chinese names keep the initial + `***` (`J***`).
Numbers keep the last 4 (`****1234`). Screens, voice calls, kiosks and slips all call `mask_name`.
"""

from __future__ import annotations

import unicodedata

MASK = "*"


def _is_cjk(ch: str) -> bool:
    """True for a CJK ideograph (incl. extension blocks and compatibility ideographs)."""
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def _mask_chinese(chars: str) -> str:
    """Mask a name written (mainly) in Chinese characters by its length."""
    n = len(chars)
    if n == 1:
        # Keeping "the surname" of a one-character name would show it in full (王 on the hall screen).
        return MASK
    if n == 2:
        return chars[0] + MASK
    if n == 3:
        return chars[0] + MASK + chars[2]
    return chars[0] + MASK * (n - 2) + chars[-1]


def mask_name(name: str | None) -> str:
    """Mask a patient name for public display; empty input gives an empty string."""
    text = " ".join((name or "").split())
    if not text:
        return ""
    compact = text.replace(" ", "").replace("·", "").replace("・", "")
    if compact and _is_cjk(compact[0]):
        return _mask_chinese(compact)
    first = next((ch for ch in text if ch.isalnum()), "")
    return (first.upper() + MASK * 3) if first else MASK * 3


def mask_number(value: str | int | None, keep: int = 4) -> str:
    """Keep the last `keep` characters of an ID/MRN/phone number: `****1234`."""
    text = "".join(str(value if value is not None else "").split())
    if not text:
        return ""
    if len(text) <= keep:
        return MASK * len(text)
    return MASK * 4 + text[-keep:]


def mask_display(name: str | None, enabled: bool = True) -> str:
    """The name as a public screen shows it: masked when `enabled`, else trimmed."""
    if enabled:
        return mask_name(name)
    return " ".join((name or "").split())
