"""The invoice PDF, drawn with fpdf2 from the document model of :mod:`.documents` (pure, no Dagster).

Core font Helvetica (no font files, Latin-1 text), creation date fixed to the invoice's issue date
(00:00 UTC), so fpdf2's ``/ID`` (an MD5 of the content plus the creation date) is fixed as well: the same
invoice gives the same bytes. A provisional invoice (an internal draft, never sent) carries a diagonal ``DRAFT``
watermark.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def latin1(text) -> str:
    """fpdf2's core fonts are Latin-1: replace anything else (never expected in our texts)."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def a4_document(title: str, author: str, subject: str, creator: str, issue_date: date):
    """A new A4 PDF (fpdf2) on its first page, with the document's metadata and a fixed creation date (the issue
    date), so the same content gives the same bytes. Shared by the invoices and the customer statements."""
    from fpdf import FPDF  # imported where a document is drawn: its import (fonts) costs every run worker 0.7 s

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(datetime(issue_date.year, issue_date.month, issue_date.day, tzinfo=UTC))
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_subject(subject)
    pdf.set_creator(creator)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def render_pdf(model: dict, issue_date: date) -> bytes:
    pdf = a4_document(model["title"], model["issuer"][0], f"{model['status']} invoice for {model['contract_id']}",
                      "flexpower_dagster invoicing", issue_date)
    if model["watermark"]:
        with pdf.local_context(text_color=(240, 195, 195)):
            pdf.set_font("Helvetica", "B", 72)
            with pdf.rotation(35, x=105, y=200):
                pdf.text(x=28, y=225, text=model["watermark"])
    pdf.set_font("Helvetica", size=9)
    for issuer_line in model["issuer"]:
        pdf.cell(0, 4.5, latin1(issuer_line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, latin1(model["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 4.5, latin1(model["subtitle"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    top = pdf.get_y()
    bottom = top
    for i, (heading, lines) in enumerate(model["parties"]):  # issuer and customer side by side
        pdf.set_xy(pdf.l_margin + i * 95, top)
        pdf.set_font("Helvetica", "B", 8)
        pdf.multi_cell(93, 4, latin1(heading), new_x="LEFT", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        for party_line in lines:
            pdf.multi_cell(93, 4.5, latin1(party_line), new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 3)
    pdf.set_font("Helvetica", size=10)
    for label, value in model["meta"]:
        pdf.cell(35, 5.5, latin1(label))
        pdf.cell(0, 5.5, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=8)
    widths = (6, 44, 24, 25, 33, 19, 18, 19)
    with pdf.table(col_widths=widths, text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=4.2, first_row_as_headings=True) as table:
        table.row(["#", "Description", "Direction", "Quantity", "Unit price", "Net EUR", f"VAT {model['vat_percent']} %",
                   "Gross EUR"])
        for line in model["lines"]:
            table.row([latin1(str(x)) for x in (line["no"], line["description"], line["direction"], line["quantity"],
                                                 line["unit_price"], line["net"], line["vat"], line["gross"])])
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    for label, value in (("Total net", model["net"]), (f"VAT {model['vat_percent']} %", model["vat"]),
                         ("Total gross", model["gross"])):
        pdf.cell(120, 6, "")
        pdf.cell(35, 6, latin1(label))
        pdf.cell(35, 6, latin1(f"{value} EUR"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 6, latin1(f"Balance: {model['balance_text']} {model['gross']} EUR (gross)"), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 4.5, latin1(model["payment_terms"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=8)
    if model["volume"]:
        pdf.multi_cell(0, 4, latin1(f"Infeed volume {model['volume']} MWh."), new_x="LMARGIN", new_y="NEXT")
    for n in model["notes"]:
        pdf.multi_cell(0, 4, latin1(n), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


