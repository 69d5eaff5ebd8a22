"""The receipt as a PDF: A6 portrait (a small slip any office printer or an 80 mm roll
printer's CUPS driver takes), Roboto (font-roboto, as the card), the QR code from segno.

Libraries: fpdf2 writes the PDF (pure Python, embeds TrueType subsets, maintained), segno
makes the QR code (pure Python, ISO/IEC 18004, maintained); neither needs a system library.
"""

from __future__ import annotations

import io

from kiosk.i18n import translate
from kiosk.receipt.content import Receipt

PAGE = (105.0, 148.0)  # A6, mm
MARGIN = 8.0


def qr_png(payload: str, scale: int = 8) -> bytes:
    import segno

    buf = io.BytesIO()
    # error correction M: survives a crease or a smudge on a paper slip
    segno.make_qr(payload, error="m").save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def render_pdf(receipt: Receipt, language: str = "id") -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    from kiosk.printer.layout import font_file

    NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}  # noqa: N806 - every block starts a line
    t = lambda code, **p: translate(code, language, **p)  # noqa: E731
    pdf = FPDF(orientation="P", unit="mm", format=PAGE)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=False)
    pdf.add_font("Roboto", "", font_file("Roboto"))
    pdf.add_font("Roboto", "B", font_file("RobotoBold"))
    pdf.set_title(t("receipt.title"))
    pdf.add_page()
    width = PAGE[0] - 2 * MARGIN
    pdf.set_font("Roboto", "B", 12)
    pdf.multi_cell(width, 6, t("receipt.title"), align="C", **NEXT_LINE)
    pdf.set_font("Roboto", "", 8)
    pdf.multi_cell(width, 4, t("receipt.subtitle"), align="C", **NEXT_LINE)
    pdf.ln(3)
    for label, value in (("receipt.name", receipt.full_name), ("receipt.nik", receipt.masked_nik),
                         ("receipt.date", receipt.recorded_on),
                         ("receipt.station", f"{receipt.station_name} ({receipt.station_id})")):
        pdf.set_font("Roboto", "", 8)
        pdf.cell(24, 5, t(label))
        pdf.set_font("Roboto", "B", 9)
        pdf.multi_cell(width - 24, 5, value, **NEXT_LINE)
    pdf.ln(2)
    pdf.set_font("Roboto", "B", 9)
    pdf.multi_cell(width, 5, t("receipt.next_title"), **NEXT_LINE)
    pdf.set_font("Roboto", "", 8)
    pdf.multi_cell(width, 4, t("receipt.next"), **NEXT_LINE)
    side = 34.0
    pdf.image(io.BytesIO(qr_png(receipt.reference)), x=(PAGE[0] - side) / 2, y=PAGE[1] - MARGIN - side - 9,
              w=side, h=side)
    pdf.set_xy(MARGIN, PAGE[1] - MARGIN - 8)
    pdf.set_font("Roboto", "", 6)
    pdf.multi_cell(width, 3, f"{t('receipt.reference')} {receipt.record_id}", align="C", **NEXT_LINE)
    return bytes(pdf.output())
