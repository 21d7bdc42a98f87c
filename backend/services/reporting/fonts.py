"""The printed report's font stack for GB 18030-2022, supplementary planes included (issue 16.5).

1. Noto Sans CJK SC (Debian fonts-noto-cjk): the main face. Its outlines are CFF, which reportlab cannot
   embed, so each document gets a subset of the characters it prints, converted to TrueType outlines
   with fontTools (cu2qu), cached by character set.
2. HanaMinA / HanaMinB (Debian fonts-hanazono): TrueType fallbacks for what Noto lacks, Extension A and
   Extensions B-F of the supplementary ideographic plane (rare characters in patients' names).
3. STSong-Light (reportlab's CID font, not embedded): the last resort when none is installed.

Text is split into runs, each drawn in the first face that has its characters. reportlab writes the
ToUnicode map of a code point above U+FFFF as five hex digits, so text extraction (search, copy, the
regulator's archive) would read other characters: `_to_unicode_cmap` writes UTF-16 surrogate pairs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

logger = logging.getLogger(__name__)

NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
HANAZONO = (Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
            Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"))
CID_FONT = "STSong-Light"
# The same order for pages (CSS `font-family` in assets/fonts.css): one stack everywhere.
CSS_STACK = '"Noto Sans CJK SC", "Noto Sans SC", "HanaMinA", "HanaMinB", "Microsoft YaHei", sans-serif'
_lock = threading.Lock()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, with code points above U+FFFF as UTF-16BE surrogate pairs."""
    def utf16(cp: int) -> str:
        return chr(cp).encode("utf-16-be", "surrogatepass").hex().upper() if cp > 0xFFFF else f"{cp:04X}"

    return "\n".join([
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
        f"<< /Registry ({fontname})", f"/Ordering ({fontname})", "/Supplement 0", ">> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def", "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange", f"{len(subset)} beginbfchar", *[f"<{i:02X}> <{utf16(v)}>" for i, v in enumerate(subset)],
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"])


@dataclass(frozen=True)
class Face:
    name: str
    chars: frozenset[int]


@lru_cache(maxsize=1)
def _fallbacks() -> tuple[Face, ...]:
    """The TrueType fallbacks that are installed, registered with reportlab once."""
    faces = []
    for i, path in enumerate(HANAZONO):
        if not path.is_file():
            continue
        try:
            font = TTFont(f"RadOpsHana{i}", str(path))
        except (TTFError, OSError) as exc:
            logger.warning("report font %s not usable: %s", path, exc)
            continue
        pdfmetrics.registerFont(font)
        faces.append(Face(font.fontName, frozenset(font.face.charToGlyph)))
    return tuple(faces)


@lru_cache(maxsize=1)
def _noto_index() -> tuple[int, frozenset[int]] | None:
    """The Simplified Chinese face of the Noto CJK collection and the characters it has."""
    if not NOTO.is_file():
        return None
    from fontTools.ttLib import TTCollection

    for i, face in enumerate(TTCollection(str(NOTO), lazy=True).fonts):
        if face["name"].getDebugName(1) == "Noto Sans CJK SC":
            return i, frozenset(face.getBestCmap())
    return None


def _noto_subset(chars: frozenset[int]) -> str | None:
    """A TrueType subset of Noto Sans CJK SC holding `chars`, registered with reportlab; its font name."""
    found = _noto_index()
    if found is None or not chars:
        return None
    digest = hashlib.sha1("".join(map(chr, sorted(chars))).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    name = f"RadOpsNoto{digest}"
    with _lock:
        if name in pdfmetrics.getRegisteredFontNames():
            return name
        font = _convert(found[0], chars, name)
        pdfmetrics.registerFont(TTFont(name, io.BytesIO(font)))
    return name


def _convert(index: int, chars: frozenset[int], name: str) -> bytes:
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont as FTFont
    from fontTools.ttLib import newTable

    font = FTFont(str(NOTO), fontNumber=index, lazy=True)
    options = subset.Options()
    options.layout_features, options.notdef_outline, options.name_IDs = [], True, ["*"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(chars))
    sub.subset(font)
    order, glyphs = font.getGlyphOrder(), font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for gname in order:
        pen = TTGlyphPen(glyphs)
        glyphs[gname].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf[gname] = pen.glyph()
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font["glyf"], font["loca"] = glyf, newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    # reportlab files faces by their PostScript name: each subset needs its own, or one hides the other.
    table = font["name"]
    table.names = []
    for name_id, value in ((1, name), (2, "Regular"), (4, name), (6, name)):
        table.setName(value, name_id, 3, 1, 0x409)
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\0\1\0\0"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Stack:
    """The faces of one document, in order; `runs` splits text between them."""

    faces: tuple[Face, ...]
    last: str

    def face_of(self, ch: str) -> str:
        cp = ord(ch)
        return next((f.name for f in self.faces if cp in f.chars), self.last)

    def runs(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for ch in text:
            face = self.face_of(ch) if not ch.isspace() else (out[-1][0] if out else self.last)
            if out and out[-1][0] == face:
                out[-1] = (face, out[-1][1] + ch)
            else:
                out.append((face, ch))
        return out

    def markup(self, text: str) -> str:
        """Paragraph markup of `text` with each run in its face (escaped; newlines as <br/>)."""
        return "<br/>".join("".join(f'<font name="{face}">{escape(run)}</font>' for face, run in self.runs(line))
                            for line in text.split("\n"))


def stack_for(texts: Iterable[str]) -> Stack:
    """The font stack of a document printing `texts` (Noto subset first, Hanazono, then STSong-Light)."""
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap  # see the module docstring
    # Page numbers are drawn after layout: their characters are in every subset (and the space).
    chars = frozenset(ord(c) for t in (*texts, " 0123456789第页共/（）：") for c in t if c not in "\n\r\t")
    faces: list[Face] = []
    found = _noto_index()
    if found is not None:
        wanted = chars & found[1]
        name = _noto_subset(wanted)
        if name:
            faces.append(Face(name, wanted))
    faces.extend(_fallbacks())
    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return Stack(tuple(faces), CID_FONT)
