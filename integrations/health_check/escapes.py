"""HL7 v2 escape sequences (v2.5 section 2.7): read every one the standard defines, write what text needs.

Read, into plain text: \\F\\ \\S\\ \\R\\ \\E\\ \\T\\ (the delimiters); \\Xhh..\\ (octets in the message's
charset, so a GB18030 message may carry Chinese as hex); the formatting commands \\.br\\ \\.sp n\\
\\.ce\\ (new lines), \\.sk n\\ (spaces), \\.fi\\ \\.nf\\ \\.in n\\ \\.ti n\\ (layout only, dropped);
\\H\\ \\N\\ (highlighting, dropped). \\Zdd..\\ (locally defined: we define none) and anything unknown
stay as written. \\Cxxyy\\ and \\Mxxyyzz\\ switch to an ISO 2022 character set inside the text, which
this interface does not speak: the message is refused (AR) rather than misread.
Written: the five delimiters, line breaks as \\.br\\, and other control characters as \\Xhh\\ (a raw
0x0B or 0x1C would break MLLP framing).
"""

from __future__ import annotations

import re
from functools import lru_cache

from backend.domain.order_intake import reject

DEFAULT_ENCODING = "^~\\&"
_LAYOUT_ONLY = {"fi", "nf", "in", "ti"}
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_FORMAT = re.compile(r"\.(br|sp|ce|sk|fi|nf|in|ti) ?([+-]?\d+)?")


def unescape(value: str, enc: str = DEFAULT_ENCODING, codec: str = "utf-8", *, where: str = "") -> str:
    """Resolve the escape sequences of one component (`where` names it in a refusal, e.g. OBR^1^13)."""
    esc = enc[2] if len(enc) > 2 else "\\"
    if esc not in value:
        return value
    out, i = [], 0
    while i < len(value):
        j = value.find(esc, i + 1) if value[i] == esc else -1
        text = _sequence(value[i + 1:j], enc, codec, where) if j > i else None
        if text is None:  # not an escape sequence: the character stands for itself
            out.append(value[i])
            i += 1
        else:
            out.append(text)
            i = j + 1
    return "".join(out)


def _sequence(seq: str, enc: str, codec: str, where: str) -> str | None:
    """The text one escape sequence stands for; None when `seq` is no sequence we resolve."""
    delimiters = {"F": "|", "S": enc[0], "R": enc[1], "E": enc[2], "T": enc[3] if len(enc) > 3 else "&"}
    if seq in delimiters:
        return delimiters[seq]
    if seq in ("H", "N"):
        return ""
    if seq[:1] == "X" and _HEX.fullmatch(seq, 1):
        try:
            return bytes.fromhex(seq[1:]).decode(codec)
        except UnicodeDecodeError as exc:
            raise reject(f"十六进制转义 \\{seq}\\ 不是有效的 {codec} 字符", "invalid_escape", "102", where) from exc
    if seq[:1] in ("C", "M") and len(seq) in (5, 7) and _HEX.fullmatch(seq, 1):
        raise reject(f"不支持在文本中切换字符集（\\{seq}\\）", "unsupported_escape", "102", where)
    m = _FORMAT.fullmatch(seq)
    if m is None:
        return None
    command, n = m.group(1), int(m.group(2) or 1)
    if command in _LAYOUT_ONLY:
        return ""
    if command == "sk":
        return " " * max(n, 0)
    return "\n" * max(n, 1) if command == "sp" else "\n"


@lru_cache(maxsize=8)
def _specials(enc: str, sep: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(sep + enc[:4]) + "\x00-\x1f\x7f]")


def escape(value: str, enc: str = DEFAULT_ENCODING, sep: str = "|") -> str:
    """Escape one value for ER7: delimiters, line breaks (\\.br\\) and control characters (\\Xhh\\)."""
    esc = enc[2]
    codes = {sep: "F", enc[0]: "S", enc[1]: "R", esc: "E", enc[3]: "T", "\n": ".br"}

    def one(m: re.Match[str]) -> str:
        ch = m.group()
        return f"{esc}{codes.get(ch) or f'X{ord(ch):02X}'}{esc}"

    return _specials(enc, sep).sub(one, value.replace("\r\n", "\n").replace("\r", "\n"))
