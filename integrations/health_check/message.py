"""A decoded HL7 v2 message as plain values (segments, fields, repetitions, components) and its header.

The ER7 parser lives in `integrations/health_check/er7.py`; the domain only reads these values.
Field numbering follows the standard: `segment.get(3)` is PID-3; for MSH, `get(1)` is the field
separator and `get(2)` the encoding characters, so `get(10)` is MSH-10 as written in the spec.
"""

from __future__ import annotations

from dataclasses import dataclass

# MSH-18 (HL7 table 0211) values we accept, as the table spells them and in the short forms senders use,
# mapped to Python codecs. Keys are normalised by `charset_key` (upper case, single spaces). Empty means
# the default of our interface agreement with the health-check vendor: UTF-8 (standards.md 7.2).
# Refused on purpose: UNICODE UTF-16/UTF-32 (their bytes collide with MLLP and ER7 delimiters) and the
# ISO 2022 sets (ISO IR14/87/159, KS X 1001, CNS 11643-1992) that switch code pages inside the text.
CHARSETS: dict[str, str] = {
    "": "utf-8",
    "UNICODE UTF-8": "utf-8",
    # Table 0211 before v2.5 had only "UNICODE" (ISO/IEC 10646); senders using it send UTF-8 on the wire.
    "UNICODE": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "GB 18030-2000": "gb18030",
    "GB18030-2000": "gb18030",
    "GB18030": "gb18030",
    "GB 18030": "gb18030",
    "GBK": "gb18030",  # GB18030 is a superset of GBK and GB 2312; decoding their text with it is exact.
    "GB2312": "gb18030",
    "ASCII": "ascii",
    "ISO IR6": "ascii",
    "BIG-5": "big5",
    **{f"8859/{n}": f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)},
}


def charset_key(value: str) -> str:
    """MSH-18 as written -> the key of CHARSETS (case and runs of spaces do not matter)."""
    return " ".join(value.upper().split())


def charset_codec(value: str) -> str | None:
    """The Python codec for an MSH-18 value, or None when this interface does not accept it."""
    return CHARSETS.get(charset_key(value))


Repetition = tuple[str, ...]  # the components of one repetition of a field


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: `fields[n]` holds the repetitions of field n (fields[0] is unused)."""

    name: str
    fields: tuple[tuple[Repetition, ...], ...]

    def repetitions(self, field: int) -> tuple[Repetition, ...]:
        """All repetitions of a field (empty when the field is absent)."""
        if field <= 0 or field >= len(self.fields):
            return ()
        return self.fields[field]

    def get(self, field: int, component: int = 1, repetition: int = 0) -> str:
        """One component of one repetition of a field, stripped; "" when absent."""
        reps = self.repetitions(field)
        if repetition >= len(reps):
            return ""
        comps = reps[repetition]
        return comps[component - 1].strip() if 0 < component <= len(comps) else ""


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """What an ACK needs from MSH, readable even when the rest of the message is not."""

    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    message_type: str = ""  # MSH-9.1, e.g. ORM
    trigger: str = ""  # MSH-9.2, e.g. O01
    control_id: str = ""  # MSH-10
    processing_id: str = ""  # MSH-11
    version: str = ""  # MSH-12
    charset: str = ""  # MSH-18 as sent

    @property
    def type_label(self) -> str:
        return f"{self.message_type}^{self.trigger}" if self.trigger else self.message_type

    @property
    def sender(self) -> str:
        """The sending system, the namespace of its control ids (MSH-3 / MSH-4)."""
        return f"hl7:{self.sending_app}/{self.sending_facility}"[:64]


@dataclass(frozen=True, slots=True)
class Hl7Message:
    """A whole message: its header, its segments in order, and the codec it was decoded with."""

    header: MessageHeader
    segments: tuple[Segment, ...]
    codec: str = "utf-8"

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.segments]
