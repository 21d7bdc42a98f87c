"""The printed report (A4 PDF): hospital header, patient block, sections, signatures, footer.

Fonts: the stack of `reporting/fonts.py` (Noto Sans CJK SC subset, then Hanazono for the rare
characters of Extensions A-F, embedded), so a name like 𠀀𠀁𪚥龘 prints and extracts as itself; a TrueType
font configured with `RADOPS_X_REPORT_FONT` goes first. Long cells wrap inside their column.
Only approved text prints: a report never approved is refused (`report_not_final`, no draft
watermark); while an approved report is being amended, the newest approved version prints.
Each print appends `report_printed` to the exam's timeline.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import HRFlowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import func, select

from backend.config import Settings
from backend.db.models import ExamEvent, ExamItem, ReportVersion
from backend.domain import lung_nodule_section
from backend.domain.actor import Actor
from backend.domain.catalog import TimelineKind
from backend.domain.enums import MODALITY_LABELS, PATIENT_CLASS_LABELS, PatientClass, sex_label
from backend.domain.errors import Conflict
from backend.domain.permissions import Perm
from backend.domain.report_sections import kind_of, printable
from backend.services import audit, timeline
from backend.services.base import Services, Tx, transaction
from backend.services.reporting import key_images
from backend.services.reporting.fonts import Face, Stack, stack_for
from backend.services.reporting.queries import load_report, local, template_for, user_names, versions_of

logger = logging.getLogger(__name__)
CID_FONT = "STSong-Light"
FOOTER = "报告仅供临床参考"
CONTENT_WIDTH = A4[0] - 36 * mm - 12  # the frame between the margins, minus its 6 pt paddings


@lru_cache(maxsize=4)
def report_font(configured: str | None) -> str:
    """Register and return the configured TrueType font's name (first in the stack), else STSong-Light."""
    for path in (configured,):
        if path and Path(path).is_file():
            try:
                pdfmetrics.registerFont(TTFont("RadOpsCJK", path, subfontIndex=0))
                return "RadOpsCJK"
            except (TTFError, OSError) as exc:
                logger.warning("report font %s not usable: %s", path, exc)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def font_for(settings: Settings) -> str:
    return report_font(settings.extra.get("RADOPS_X_REPORT_FONT"))


@dataclass(frozen=True)
class PrintData:
    """Everything on the page, as plain values."""

    hospital: str
    department: str
    title: str
    patient: list[tuple[str, str]]
    sections: list[tuple[str, str]]
    signatures: list[tuple[str, str]]
    note: str
    printed_local: str
    running: str = ""
    tables: dict[str, lung_nodule_section.Printed] = field(default_factory=dict)  # section title -> nodule table
    # section title -> its key images (JPEG, or None when not printable, and the series/image caption)
    pictures: dict[str, list[tuple[bytes | None, str]]] = field(default_factory=dict)


def age_at(birth: date | None, on: date) -> str:
    """Chinese age text on a day: years, or months (月) for infants."""
    if birth is None:
        return ""
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    return f"{months // 12}岁" if months >= 24 else f"{max(months, 0)}月"


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "hospital": ParagraphStyle("h", parent=base, fontSize=18, leading=24, alignment=1),
        "title": ParagraphStyle("t", parent=base, fontSize=14, leading=20, alignment=1, spaceAfter=4),
        "cell": ParagraphStyle("c", parent=base, fontSize=9.5, leading=13),
        "section": ParagraphStyle("s", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=2),
        "body": ParagraphStyle("b", parent=base, firstLineIndent=0, leftIndent=6 * mm),
        "note": ParagraphStyle("n", parent=base, fontSize=9, textColor=colors.HexColor("#444444")),
    }


def _para(text: str, style: ParagraphStyle, stack: Stack | None = None) -> Paragraph:
    if stack is not None:
        return Paragraph(stack.markup(text) or "&nbsp;", style)
    return Paragraph(escape(text).replace("\n", "<br/>") or "&nbsp;", style)


def _grid(pairs: list[tuple[str, str]], style: ParagraphStyle, cols: int, stack: Stack | None = None) -> Table:
    cells = [_para(f"{k}：{v}", style, stack) for k, v in pairs]
    rows = [cells[i:i + cols] + [""] * (cols - len(cells[i:i + cols])) for i in range(0, len(cells), cols)]
    t = Table(rows, colWidths=[CONTENT_WIDTH / cols] * cols)
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 1),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 2)]))
    return t


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """Draws "第 x 页 / 共 y 页" and the footer once the page count is known (two passes)."""

    font = CID_FONT
    footer = FOOTER
    running = ""  # repeated at the top of continuation pages: who and which exam
    stack: Stack | None = None

    def _runs(self, x: float, y: float, text: str, *, right: bool = False) -> None:
        """Draw `text` at 9 pt in the document's font stack (each run in the face that has it)."""
        runs = self.stack.runs(text) if self.stack is not None else [(self.font, text)]
        if right:
            x -= sum(pdfmetrics.stringWidth(t, f, 9) for f, t in runs)
        for face, part in runs:
            self.setFont(face, 9)
            self.drawString(x, y, part)
            x += pdfmetrics.stringWidth(part, face, 9)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab calls this name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setStrokeColor(colors.black)
            self.line(18 * mm, 18 * mm, A4[0] - 18 * mm, 18 * mm)
            self._runs(18 * mm, 13 * mm, self.footer)
            self._runs(A4[0] - 18 * mm, 13 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页", right=True)
            if self._pageNumber > 1:
                self._runs(18 * mm, A4[1] - 10 * mm, f"{self.running}（续）")
            super().showPage()
        super().save()


def _texts(data: PrintData) -> list[str]:
    pairs = [*data.patient, *data.sections, *data.signatures]
    tables = [c for t in data.tables.values() for c in (*t.head, *(x for r in t.rows for x in r), *t.lines)]
    captions = [c for pics in data.pictures.values() for _, c in pics]
    return [data.hospital, data.title, data.note, data.printed_local, data.running, FOOTER, "打印时间：（续）第页共",
            KEY_TITLE, *(f"{k}：{v}" for k, v in pairs), *tables, *captions]


KEY_TITLE = "关键图像："
KEY_COLUMNS = 3


def _key_table(pics: list[tuple[bytes | None, str]], style: ParagraphStyle, stack: Stack) -> Table:
    """The key images three to a row, each over its series/image caption."""
    small = ParagraphStyle("kc", parent=style, fontSize=8.5, leading=11, alignment=1)
    width = CONTENT_WIDTH / KEY_COLUMNS
    cells: list[Any] = []
    for jpeg, caption in pics:
        parts: list[Any] = [_para(caption, small, stack)]
        if jpeg is not None:
            img = Image(io.BytesIO(jpeg))
            scale = min((width - 4 * mm) / img.imageWidth, 55 * mm / img.imageHeight)
            img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
            parts.insert(0, img)
        cells.append(parts)
    rows = [cells[i:i + KEY_COLUMNS] + [""] * (KEY_COLUMNS - len(cells[i:i + KEY_COLUMNS]))
            for i in range(0, len(cells), KEY_COLUMNS)]
    t = Table(rows, colWidths=[width] * KEY_COLUMNS)
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return t


# Column widths (mm) of the lung-nodule table: No, site, series/image, type, axes, mean, solid, volume, change, cat.
NODULE_COLUMNS = (8, 26, 16, 20, 22, 14, 14, 14, 20, 11)


def _nodule_table(table: lung_nodule_section.Printed, style: ParagraphStyle, stack: Stack) -> Table:
    small = ParagraphStyle("nt", parent=style, fontSize=8.5, leading=11)
    scale = CONTENT_WIDTH / (sum(NODULE_COLUMNS) * mm)
    rows = [[_para(c, small, stack) for c in table.head], *([_para(c, small, stack) for c in r] for r in table.rows)]
    t = Table(rows, colWidths=[w * mm * scale for w in NODULE_COLUMNS], repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                           ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
    return t


def render_pdf(data: PrintData, font: str) -> bytes:
    """Lay out one report on A4 and return the PDF bytes (fonts embedded; every character its own glyph)."""
    stack = stack_for(_texts(data))
    if font != CID_FONT:  # a configured TrueType font goes first
        face = pdfmetrics.getFont(font).face
        stack = Stack((Face(font, frozenset(face.charToGlyph)), *stack.faces), stack.last)
    st = _styles(stack.faces[0].name if stack.faces else font)
    story: list[Any] = [_para(data.hospital, st["hospital"], stack), _para(data.title, st["title"], stack),
                        HRFlowable(width="100%", thickness=1.2, color=colors.black, spaceAfter=4),
                        _grid(data.patient, st["cell"], 4, stack),
                        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceBefore=4, spaceAfter=2)]
    if data.note:
        story.append(_para(data.note, st["note"], stack))
    for title, text in data.sections:
        story.append(_para(title + "：", st["section"], stack))
        table = data.tables.get(title)
        if table is None:
            story.append(_para(text, st["body"], stack))
            continue
        if table.rows:
            story += [_nodule_table(table, st["cell"], stack), Spacer(1, 2 * mm)]
        story += [_para(line, st["body"], stack) for line in table.lines]
        if data.pictures.get(title):
            story += [_para(KEY_TITLE, st["body"], stack), _key_table(data.pictures[title], st["cell"], stack)]
    story += [Spacer(1, 10 * mm), HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceAfter=4),
              _grid(data.signatures, st["cell"], 2, stack), _para(f"打印时间：{data.printed_local}", st["note"], stack)]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=24 * mm, title=data.title, author=data.hospital)
    canvas_cls = type("ReportCanvas", (_NumberedCanvas,), {"font": font, "running": data.running, "stack": stack})
    doc.build(story, canvasmaker=canvas_cls)
    return out.getvalue()


def performed_at(tx: Tx, exam_id: int) -> datetime | None:
    """When the exam was done: its `completed` (else `started`) timeline row."""
    kinds = (TimelineKind.STARTED, TimelineKind.COMPLETED)
    rows = dict(tx.session.execute(select(ExamEvent.kind, func.max(ExamEvent.at)).where(
        ExamEvent.exam_id == exam_id, ExamEvent.kind.in_(kinds)).group_by(ExamEvent.kind)).all())
    return rows.get(TimelineKind.COMPLETED) or rows.get(TimelineKind.STARTED)


def _print_data(tx: Tx, svc: Services, exam_id: int) -> tuple[PrintData, Any, ReportVersion]:
    exam = timeline.load_exam(tx, exam_id)
    report = load_report(tx, exam.id, required=True)
    assert report is not None
    approved = [v for v in versions_of(tx, report) if v.approved_at is not None]
    if not approved:
        raise Conflict("报告尚未审核，不能打印正式报告", code="report_not_final")
    v = approved[-1]
    item = tx.session.get(ExamItem, exam.exam_item_id)
    names = user_names(tx, {v.author_id, v.approved_by, v.typed_by})
    p = exam.patient
    exam_day = exam.created_at.astimezone(tx.tz).date()
    modality = MODALITY_LABELS.get(exam.modality_code, exam.modality_code)
    patient = [("姓名", p.name), ("性别", sex_label(p.sex)), ("年龄", age_at(p.birth_date, exam_day)),
               ("病案号", p.mrn), ("检查号", exam.accession), ("检查项目", item.name if item else ""),
               ("患者类别", PATIENT_CLASS_LABELS.get(PatientClass(exam.patient_class), "")),
               ("申请科室", exam.ordering_department), ("申请医师", exam.ordering_doctor),
               ("登记时间", local(exam.created_at, tx)), ("检查时间", local(performed_at(tx, exam.id), tx)),
               ("报告时间", local(v.saved_at, tx))]
    signatures = [("报告医师", f"{names.get(v.author_id or 0, '')}  {local(v.saved_at, tx)}"),
                  ("审核医师", f"{names.get(v.approved_by or 0, '')}  {local(v.approved_at, tx)}")]
    if v.typed_by:
        signatures.append(("录入", names.get(v.typed_by, "")))
    note = f"更正报告（第 {v.number} 版）  更正原因：{v.amend_reason}" if v.number > 1 else ""
    template = template_for(tx, exam, report.template_code).sections
    sections = printable(template, v.sections)
    tables = {str(sec.get("title", sec["key"])): table for sec in template
              if kind_of(sec).name == lung_nodule_section.KIND
              and (table := lung_nodule_section.printed(v.sections.get(sec["key"]))) is not None}
    pictures = {str(sec.get("title", sec["key"])): pics for sec in template
                if kind_of(sec).name == lung_nodule_section.KIND and isinstance(v.sections.get(sec["key"]), dict)
                and (pics := key_images.pictures(tx, svc, exam.accession,
                                                 v.sections[sec["key"]].get("key_images") or []))}
    data = PrintData(hospital=svc.settings.hospital_name, department=svc.settings.department_name,
                     title=f"{svc.settings.department_name} {modality}检查报告单", patient=patient,
                     sections=sections, tables=tables, pictures=pictures, signatures=signatures, note=note,
                     printed_local=local(tx.now, tx),
                     running=f"{svc.settings.hospital_name}  {p.name}  检查号 {exam.accession}")
    return data, exam, v


def final_pdf(tx: Tx, svc: Services, exam_id: int) -> tuple[bytes, int]:
    """The newest approved version as PDF bytes and its number, inside the caller's transaction (no print
    is recorded: results sent to a partner are not prints)."""
    data, _exam, version = _print_data(tx, svc, exam_id)
    return render_pdf(data, font_for(svc.settings)), version.number


def print_report(svc: Services, exam_id: int, *, by: Actor) -> bytes:
    """The final report of an exam as PDF bytes; refused until a version is approved."""
    by.require(Perm.REPORT_PRINT)
    font = font_for(svc.settings)
    with transaction(svc) as tx:
        data, exam, version = _print_data(tx, svc, exam_id)
        pdf = render_pdf(data, font)
        timeline.append(tx, exam, TimelineKind.REPORT_PRINTED, by, version=version.number)
        audit.record(tx, by, "print", "report", exam.id, version=version.number)
    logger.info("report printed for exam %s (version %s)", exam_id, version.number)
    return pdf
