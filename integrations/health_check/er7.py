"""HL7 v2 ER7 text: read the header from raw bytes, decode by MSH-18, parse into domain values, and write.

Escape sequences: `integrations/health_check/escapes.py` (the full set of the standard). Subcomponents
are kept inside their component text (this interface never needs them split). Why this is our own code
and how it is checked against python-hl7 and hl7apy: docs/health_check_interface.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.domain.order_intake import reject
from integrations.health_check.escapes import DEFAULT_ENCODING, escape, unescape
from integrations.health_check.message import Hl7Message, MessageHeader, Segment, charset_codec

__all__ = ["DEFAULT_ENCODING", "decode", "encode", "escape", "msh", "parse_header", "placer_order_of", "readable_text",
           "repeated", "segment", "unescape"]


def _split_msh(raw: bytes) -> list[str]:
    """The MSH fields of a raw message, decoded with the charset that its MSH-18 declares.

    MSH-18 itself is ASCII, so an ASCII view finds it; the line is then decoded with that charset, so
    that Chinese in MSH-3..MSH-6 reads as Chinese. A GB18030 byte 0x7C ("|") inside such a name would
    shift the ASCII view; the GB18030 view is tried too before MSH-18 counts as unknown.
    """
    start = raw.lstrip(b"\r\n ")
    if not start.startswith(b"MSH") or len(start) < 8:
        raise reject("消息必须以 MSH 段开始", "missing_msh", "100", "MSH^1")
    line = start.split(b"\r", 1)[0].split(b"\n", 1)[0]
    ascii_view = line.decode("ascii", errors="replace")
    parts = ascii_view.split(ascii_view[3])
    if line.isascii():
        return parts
    for codec in (charset_codec(_msh18(parts)), "gb18030"):
        if codec is None:
            continue
        text = line.decode(codec, errors="replace")
        decoded = text.split(text[3])
        if charset_codec(_msh18(decoded)) == codec:
            return decoded
    return parts


def _msh18(parts: list[str]) -> str:
    """MSH-18's first repetition (the message's own charset) from split MSH fields."""
    enc = parts[1] if len(parts) > 1 and len(parts[1]) >= 2 else DEFAULT_ENCODING
    return parts[17].split(enc[1])[0].strip() if len(parts) > 17 else ""


def parse_header(raw: bytes) -> MessageHeader:
    """MSH of a raw message, enough to address an ACK even when the body cannot be decoded."""
    parts = _split_msh(raw)
    enc = parts[1] if len(parts) > 1 and len(parts[1]) >= 2 else DEFAULT_ENCODING
    comp = enc[0]

    def f(n: int, c: int = 1) -> str:  # MSH-n: parts[n-1] because MSH-1 is the separator itself
        value = parts[n - 1] if n - 1 < len(parts) else ""
        pieces = value.split(enc[1])[0].split(comp)
        return pieces[c - 1].strip() if c <= len(pieces) else ""

    return MessageHeader(
        sending_app=f(3), sending_facility=f(4), receiving_app=f(5), receiving_facility=f(6),
        message_type=f(9, 1).upper(), trigger=f(9, 2).upper(), control_id=f(10), processing_id=f(11, 1).upper(),
        version=f(12, 1), charset=_msh18(parts),
    )


def codec_for(charset: str) -> str:
    """The Python codec for an MSH-18 value; an unknown value is an AR."""
    codec = charset_codec(charset)
    if codec is None:
        raise reject(f"不支持的字符集：{charset}（支持 UNICODE UTF-8、GB 18030-2000、ASCII、8859/1 等）",
                     "unsupported_charset", "103", "MSH^1^18")
    return codec


def decode(raw: bytes, header: MessageHeader | None = None) -> Hl7Message:
    """Decode a raw message with the charset MSH-18 declares and parse it; bytes that do not fit are an AR."""
    header = header or parse_header(raw)
    codec = codec_for(header.charset)
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise reject(f"消息内容无法按声明的字符集 {header.charset or 'UTF-8'} 解码（第 {exc.start} 字节）",
                     "wrong_charset", "102", "MSH^1^18") from exc
    if codec == "gb18030" and not raw.isascii() and _is_utf8(raw):
        # GB18030 maps almost any byte pair, so UTF-8 text "decodes" into wrong characters; real
        # GB18030 Chinese text is practically never valid UTF-8, so this mismatch is reliable.
        raise reject("消息声明为 GB18030，但内容是 UTF-8 编码", "wrong_charset", "102", "MSH^1^18")
    return parse_text(text, header=header, codec=codec)


def readable_text(raw: bytes, charset: str) -> str:
    """The message as text for people to read: decoded by its MSH-18 (else UTF-8), bytes that do not fit
    shown as U+FFFD. Non-ASCII bytes that are valid UTF-8 are read as UTF-8 whatever MSH-18 says: that is
    the usual `wrong_charset` (UTF-8 sent as GB18030), and real GB18030 text is practically never valid UTF-8."""
    if not raw.isascii() and _is_utf8(raw):
        return raw.decode("utf-8")
    return raw.decode(charset_codec(charset) or "utf-8", errors="replace")


def placer_order_of(text: str) -> str:
    """ORC-2 (else OBR-2) of a message's text, read leniently: "" when there is none."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    sep = lines[0][3] if lines and lines[0].startswith("MSH") and len(lines[0]) > 3 else "|"
    found = {ln[:3]: ln.split(sep) for ln in reversed(lines) if ln[:3] in ("ORC", "OBR")}
    for name in ("ORC", "OBR"):
        fields = found.get(name)
        if fields and len(fields) > 2 and fields[2]:
            return fields[2].split("^")[0].strip()[:64]
    return ""


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_text(text: str, *, header: MessageHeader, codec: str) -> Hl7Message:
    """Split decoded ER7 text into segments, fields, repetitions and components."""
    lines = [ln for ln in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if ln.strip()]
    sep = lines[0][3]
    enc = lines[0][4:8].split(sep)[0] or DEFAULT_ENCODING
    segments: list[Segment] = []
    for line in lines:
        name = line[:3]
        if len(name) < 3 or (len(line) > 3 and line[3] != sep) or not name.isalnum() or not name.isupper():
            raise reject(f"段格式错误：{line[:10]}", "malformed_segment", "100")
        raw_fields = line.split(sep)
        n = 1 + sum(s.name == name for s in segments)  # the segment's sequence number, for ERR-2
        if name == "MSH":  # MSH-1 is the separator, MSH-2 the encoding characters: never split them
            fields = [(), ((sep,),), ((enc,),),
                      *(_field(v, enc, codec, f"MSH^{n}^{k}") for k, v in enumerate(raw_fields[2:], 3))]
        else:
            fields = [(), *(_field(v, enc, codec, f"{name}^{n}^{k}") for k, v in enumerate(raw_fields[1:], 1))]
        segments.append(Segment(name=name, fields=tuple(fields)))
    return Hl7Message(header=header, segments=tuple(segments), codec=codec)


def _field(value: str, enc: str, codec: str, where: str) -> tuple[tuple[str, ...], ...]:
    if not value:
        return ()
    return tuple(tuple(unescape(c, enc, codec, where=where) for c in rep.split(enc[0]))
                 for rep in value.split(enc[1]))


class Raw(str):
    """A field value already in ER7 form (e.g. repetitions joined by ~); written as is."""

    __slots__ = ()


def repeated(*reps: Sequence[str]) -> Raw:
    """A repeating field: each repetition's components escaped and joined by ^, repetitions by ~."""
    return Raw("~".join("^".join(escape(c) for c in rep) for rep in reps))


Field = str | Sequence[str]  # plain text, Raw, or its components (each escaped on output)


def _write(f: Field) -> str:
    if isinstance(f, Raw):
        return str(f)
    return escape(f) if isinstance(f, str) else "^".join(escape(c) for c in f)


def segment(name: str, *fields: Field) -> str:
    """One segment line; a sequence becomes components joined by ^ (each escaped)."""
    return "|".join([name, *(_write(f) for f in fields)]).rstrip("|")


def msh(*fields: Field) -> str:
    """The MSH line; `fields` start at MSH-3."""
    return f"MSH|{DEFAULT_ENCODING}|" + "|".join(_write(f) for f in fields).rstrip("|")


def encode(lines: Sequence[str], codec: str) -> bytes:
    """Join segment lines with CR and encode them in `codec`."""
    return ("\r".join(lines) + "\r").encode(codec)
