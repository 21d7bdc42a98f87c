"""The printable monthly report (运营月报): one month's figures and charts as a PDF with an embedded CJK font,
for the department head to send to the hospital's quality office (issue 17.10)."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput
from backend.domain.metrics import DEFAULT_SCOPE, TICK, MarkKind, add_months, local_midnight
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, transaction
from backend.services.cockpit.board import compute


def _month(text: str, today: date) -> date:
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise InvalidInput("月份格式应为 2026-11", code="invalid_month") from None
    if first > today:
        raise InvalidInput("不能生成未来月份的月报", code="month_future")
    return first


def monthly_report(svc: Services, month: str, *, by: Actor, scope: str = DEFAULT_SCOPE) -> tuple[bytes, str]:
    """The month's figures as of its last moment (or now for the current month) as a PDF and its file name.

    A whole past month is a fixed period, so any cockpit viewer may print it (unlike an arbitrary `as_of`).
    """
    by.require(Perm.COCKPIT_VIEW)
    now = svc.clock()
    first = _month(month, now.astimezone(svc.tz).date())
    end = local_midnight(add_months(first, 1), svc.tz) - TICK
    at = min(end, now)
    with transaction(svc) as tx:
        f = compute(tx, at, mask=True, scope=scope)
        audit.record(tx, by, "export", "cockpit_monthly", month, scope=scope)
    return _pdf(f, first, at.astimezone(svc.tz), font_path=svc.settings.extra.get("RADOPS_X_REPORT_FONT")), \
        f"cockpit-monthly-{scope}-{first:%Y-%m}.pdf"


FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def _font(configured: str | None) -> str:
    """An embeddable TrueType CJK font (configured, or Debian's WenQuanYi), else reportlab's CID font."""
    from pathlib import Path

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path in (configured, *FONTS):
        if path and Path(path).is_file():
            try:
                if "CockpitCJK" not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont("CockpitCJK", path, subfontIndex=0))
                return "CockpitCJK"
            except (TTFError, OSError):
                continue
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _rows(f: dict[str, Any]) -> list[list[str]]:
    rows = [["指标", "本期", "去年同期", "同比"]]
    for fig in ("CP-1", "CP-2"):
        x = f[fig]
        rows.append([f"{fig} {x['label']}", str(x["value"]), str(x["last_year"]), x["yoy_text"]])
    for i in f["CP-6"]["items"]:
        rows.append([f"CP-5/6 {i['label']}完成量", str(i["value"]), str(i["last_year"]), i["yoy_text"]])
    c8, c9, c10 = f["CP-8"], f["CP-9"], f["CP-10"]
    rows.append([f"CP-8 危急值（及时 {c8['within']} / 超时 {c8['late']} / 待通知 {c8['pending']}）", str(c8["total"]),
                 str(c10["last_year_total"]), ""])
    rows.append([f"CP-9/10 {c9['limit_min']}分钟内通知率", c9["text"], _pct(c10["last_year_rate"]), c10["text"]])
    return rows


def _pdf(f: dict[str, Any], first: date, at: datetime, *, font_path: str | None) -> bytes:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font(font_path)
    base = ParagraphStyle("b", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    title = ParagraphStyle("t", parent=base, fontSize=16, leading=22, alignment=1)
    head = ParagraphStyle("h", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    note = ParagraphStyle("n", parent=base, fontSize=8.5, leading=12, textColor=colors.HexColor("#555555"))
    story: list[Any] = [
        Paragraph(f"{f['scope_label']}运营月报　{first.year}年{first.month}月", title),
        Paragraph(f"统计截至 {at:%Y-%m-%d %H:%M}（{f['timezone']}）；范围：{'、'.join(f['modalities'])}", note),
        Spacer(1, 4 * mm), Paragraph("主要指标", head)]
    table = Table(_rows(f), colWidths=[90 * mm, 25 * mm, 25 * mm, 25 * mm])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 9.5), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    story.append(table)
    for fig in ("CP-3", "CP-4"):
        x = f[fig]
        parts = "、".join(f"{x['labels'][c]} {n} 例（{_pct(x['shares'][c])}）" for c, n in x["counts"].items())
        story.append(Paragraph(f"{fig} {x['label']}：{parts or '—'}", base))
    for fig in ("CP-11", "CP-12"):
        x = f[fig]
        story.append(Paragraph(f"{fig} {x['label']}", head))
        drawing = Drawing(170 * mm, 60 * mm)
        chart = VerticalBarChart()
        chart.x, chart.y, chart.width, chart.height = 12 * mm, 10 * mm, 150 * mm, 42 * mm
        chart.data = [x["this_year"], x["last_year"]]
        chart.categoryAxis.categoryNames = x["labels"]
        chart.categoryAxis.labels.fontName = font
        chart.categoryAxis.labels.fontSize = 7.5
        chart.valueAxis.labels.fontSize = 7.5
        chart.valueAxis.valueMin = 0
        chart.bars[0].fillColor = colors.HexColor("#1f6fd1")
        chart.bars[1].fillColor = colors.HexColor("#f39c12")
        chart.barLabelFormat = "%d"
        chart.barLabels.fontSize = 6.5
        chart.barLabels.nudge = 6
        drawing.add(chart)
        drawing.add(String(12 * mm, 56 * mm, f"■ {x['this_year_label']}", fontName=font, fontSize=8,
                           fillColor=colors.HexColor("#1f6fd1")))
        drawing.add(String(40 * mm, 56 * mm, f"■ {x['last_year_label']}", fontName=font, fontSize=8,
                           fillColor=colors.HexColor("#f39c12")))
        story.append(drawing)
    readings = f["readings"]
    story.append(Paragraph(
        f"口径：完成＝{'报告审核完成' if readings['completion'] == MarkKind.REPORT_APPROVED else '检查已执行'}；"
        f"去年同期＝{'去年整月' if readings['last_year'] == 'whole_month' else '去年同月同一时刻为止'}；"
        f"危急值按{'系统登记时间' if readings['critical'] == 'recorded' else '填写的通知时间'}判定，"
        "时限内尚未通知的不计入通知率。定义见 docs/metrics.md。", note))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                      bottomMargin=16 * mm, title=f"{f['scope_label']}运营月报 {first:%Y-%m}",
                      author="RadOps").build(story)
    return out.getvalue()
