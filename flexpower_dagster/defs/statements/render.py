"""A customer's monthly statement: the document model, a small static HTML page (Jinja2) and a PDF (fpdf2), drawn
the way the invoice documents are (``defs/invoicing/documents.py``, ``pdf.py``): one plain model, autoescaped
HTML without scripts or external resources, a PDF in the core font with a fixed creation date (pure: no Dagster).

The model is built from one :class:`~.data.CustomerMonth` only (the customer's scoped rows), so it can name nothing
but that customer's contracts, assets, metering points, invoices and e-mail addresses. The same rows give the same
bytes (the document date is the first day of the following month, as on the invoices).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import TYPE_CHECKING

import pandas as pd

from flexpower_dagster.defs.invoicing.documents import eur, issuer_lines, printed_lines
from flexpower_dagster.defs.invoicing.lines import CUSTOMER_PAYS, FLEX_PAYS
from flexpower_dagster.defs.invoicing.parties import Issuer
from flexpower_dagster.defs.invoicing.pdf import a4_document, latin1
from flexpower_dagster.defs.statements.data import CustomerMonth, month_end

if TYPE_CHECKING:  # fpdf and Jinja2 are imported where a document is drawn, not when the code location loads
    from fpdf import FPDF

NONE = "-"  # a value that is not known (never printed as 0)
_DIRECTION = {FLEX_PAYS: "FlexPower pays customer", CUSTOMER_PAYS: "Customer pays FlexPower"}
_STATUS = {
    "final": "final",
    "provisional": "provisional: figures not settled yet",
    "blocked": "not issued yet: FlexPower is completing the contract data or an input; no figures",
}
CONTRACT_HEADINGS = ("Contract", "Asset", "Metering point", "Technology", "Capacity MW", "Price model", "Fee model",
                     "In force this month")
DAILY_HEADINGS = ("Day", "Infeed MWh", "Forecast MWh", "Infeed - forecast MWh", "Forecast MAE % of capacity",
                  "QH final / live / forecast / missing", "Redispatched QH", "Redispatched MWh (forecast)")
LINE_HEADINGS = ("#", "Description", "Direction", "Quantity", "Unit price", "Net EUR", "VAT EUR", "Gross EUR")


def _num(value, places: int = 3) -> str:
    if value is None or pd.isna(value):
        return NONE
    return f"{float(value):,.{places}f}"


def _day(value) -> str:
    return pd.Timestamp(value).date().isoformat()


def _diff(a, b) -> str:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return NONE
    return f"{float(a) - float(b):+,.3f}"


def _sum(series: pd.Series):
    """Sum of the known values, or None when none is known (missing is never 0)."""
    known = series.dropna()
    return None if known.empty else float(known.sum())


def _asset_block(asset_id: str, days: pd.DataFrame) -> dict:
    rows = [[
        _day(r["delivery_day"]), _num(r["infeed_mwh"]), _num(r["forecast_mwh"]), _diff(r["infeed_mwh"], r["forecast_mwh"]),
        _num(r["forecast_mae_pct_capacity"], 2),
        f"{int(r['n_qh_final'])} / {int(r['n_qh_live'])} / {int(r['n_qh_forecast'])} / {int(r['n_qh_missing'])}",
        str(int(r["n_qh_redispatched"])), _num(r["redispatched_forecast_mwh"]),
    ] for r in days.sort_values("delivery_day").to_dict("records")]
    infeed, forecast = _sum(days["infeed_mwh"]), _sum(days["forecast_mwh"])
    total = ["Month", _num(infeed), _num(forecast), _diff(infeed, forecast), "",
             " / ".join(str(int(days[c].sum())) for c in ("n_qh_final", "n_qh_live", "n_qh_forecast", "n_qh_missing")),
             str(int(days["n_qh_redispatched"].sum())), _num(_sum(days["redispatched_forecast_mwh"]))]
    return {"asset_id": asset_id, "rows": rows, "total": total,
            "missing_qh": int(days["n_qh_missing"].sum())}


def _invoice_block(invoice: dict, lines: pd.DataFrame) -> dict:
    status = str(invoice["status"])
    number = invoice.get("document_number")
    number = number if isinstance(number, str) and number else "none (not sent)"
    block = {"invoice_id": invoice["invoice_id"], "contract_id": invoice["contract_id"], "asset_id": invoice["asset_id"],
             "status": _STATUS.get(status, status), "document_number": number, "lines": [], "totals": None}
    if status == "blocked" or not len(lines):
        return block
    lines = lines.sort_values("line_no")
    printed = printed_lines(lines).to_dict("records")
    block["lines"] = [
        [str(int(line["line_no"])), p["printed_description"], _DIRECTION.get(line["direction"], str(line["direction"])),
         p["printed_quantity"], p["printed_unit_price"], p["printed_net"], eur(line["vat_cents"]), eur(line["gross_cents"])]
        for line, p in zip(lines.to_dict("records"), printed, strict=True)
    ]
    gross = int(invoice["gross_cents"])
    block["totals"] = {
        "net": eur(abs(int(invoice["net_cents"]))), "vat": eur(abs(int(invoice["vat_cents"]))), "gross": eur(abs(gross)),
        "balance": "FlexPower pays the customer" if gross >= 0 else "the customer pays FlexPower",
    }
    return block


def statement_model(cm: CustomerMonth, month: date, issuer: Issuer, policy_sha256: str) -> dict:
    """What the statement of customer ``cm`` for ``month`` shows (from ``cm``'s rows only)."""
    contracts = [[
        r["contract_id"], r["asset_id"], r["metering_point_id"] or NONE, r["technology"] or NONE, _num(r["capacity_mw"], 3),
        r["price_model"] or NONE, r["fee_model"] or NONE,
        f"{_day(r['first_day'])} to {_day(r['last_day'])} ({int(r['days_in_force'])} day"
        f"{'' if int(r['days_in_force']) == 1 else 's'})",
    ] for r in cm.contracts.sort_values("contract_id").to_dict("records")]
    assets = [_asset_block(asset_id, days) for asset_id, days in cm.daily.groupby("asset_id", sort=True)]
    invoices = [_invoice_block(inv, cm.lines[cm.lines["invoice_id"] == inv["invoice_id"]])
                for inv in cm.invoices.sort_values("invoice_id").to_dict("records")]
    issue = month_end(month)
    notes = [
        "Infeed: best-of-infeed per quarter-hour (final DSO value, else live VPP value, else forecast); a quarter-hour "
        "without any value is counted as missing, never as 0. Forecast: the latest forecast of each quarter-hour. "
        "Redispatched MWh: the forecast volume of the quarter-hours the grid operator redispatched.",
        "Invoice lines as on the invoice document; a provisional invoice is not settled and not sent.",
        f"Generated from your own data only (FlexPower data permissions policy {policy_sha256[:12]}).",
    ]
    return {
        "title": f"Monthly statement {month:%Y-%m}",
        "month": f"{month:%Y-%m}",
        "issuer": issuer_lines(issuer),
        "customer": cm.emails or [cm.customer],
        "document_date": issue.isoformat(),
        "period": f"{month.isoformat()} to {(issue - pd.Timedelta(days=1)).isoformat()}",
        "contracts": contracts,
        "assets": assets,
        "invoices": invoices,
        "notes": notes,
        "issue_date": issue,
    }


STATEMENT_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ s.title }}</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
  table { border-collapse: collapse; width: 100%; margin: 0.6em 0 1.2em; font-size: 0.9em; }
  th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.45em; text-align: left; vertical-align: top; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  td:first-child { white-space: nowrap; }
  tr.total td { font-weight: bold; border-top: 2px solid #222; }
  .scroll { overflow-x: auto; }
  .notes { font-size: 0.85em; color: #555; }
</style>
</head>
<body>
<p>{% for l in s.issuer %}{{ l }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>
<h1>{{ s.title }}</h1>
<p>Customer: {{ s.customer | join(", ") }}<br>Period: {{ s.period }}<br>Document date: {{ s.document_date }}</p>
<h2>Contracts</h2>
<div class="scroll"><table>
<tr>{% for h in contract_headings %}<th>{{ h }}</th>{% endfor %}</tr>
{% for r in s.contracts %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table></div>
<h2>Daily infeed vs forecast and redispatch</h2>
{% for a in s.assets %}<h3>Asset {{ a.asset_id }}</h3>
<div class="scroll"><table>
<tr>{% for h in daily_headings %}<th{% if not loop.first %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr>
{% for r in a.rows %}<tr>{% for v in r %}<td{% if not loop.first %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}<tr class="total">{% for v in a.total %}<td{% if not loop.first %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
</table></div>
{% else %}<p>No infeed data this month.</p>
{% endfor %}
<h2>Invoice lines</h2>
{% for inv in s.invoices %}<h3>Invoice {{ inv.invoice_id }} (contract {{ inv.contract_id }}, asset {{ inv.asset_id }})</h3>
<p>Status: {{ inv.status }}. Document number: {{ inv.document_number }}.</p>
{% if inv.lines %}<div class="scroll"><table>
<tr>{% for h in line_headings %}<th{% if loop.index > 3 %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr>
{% for r in inv.lines %}<tr>{% for v in r %}<td{% if loop.index > 3 %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}<tr class="total"><td></td><td colspan="4">Total ({{ inv.totals.balance }})</td><td class="num">{{ inv.totals.net }}</td>
<td class="num">{{ inv.totals.vat }}</td><td class="num">{{ inv.totals.gross }}</td></tr>
</table></div>{% endif %}
{% else %}<p>No invoice for this month yet.</p>
{% endfor %}
<div class="notes">{% for n in s.notes %}<p>{{ n }}</p>{% endfor %}</div>
</body>
</html>
"""

@cache
def _template():
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(STATEMENT_HTML)


def render_html(model: dict) -> bytes:
    return _template().render(s=model, contract_headings=CONTRACT_HEADINGS, daily_headings=DAILY_HEADINGS,
                            line_headings=LINE_HEADINGS).encode("utf-8")


def _lines(pdf: FPDF, lines: list[str], bold_first: bool = False) -> None:
    for i, line in enumerate(lines):
        pdf.set_font("Helvetica", "B" if bold_first and i == 0 else "", 7)
        pdf.multi_cell(0, 3.8, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=7)


def _contract_text(r: list[str]) -> str:
    """A contract row as one line of text (PDF): contract, asset, metering point, technology, capacity, models, days."""
    return (f"{r[0]}: asset {r[1]}, metering point {r[2]}, {r[3]}, {r[4]} MW, price model {r[5]}, fee model {r[6]}, "
            f"in force {r[7]}")


LINE_NUMBER_HEADINGS = ("Quantity", "Unit price", "Net EUR", "VAT EUR", "Gross EUR")
LINE_WIDTHS = (34, 38, 30, 26, 30)


def _invoice_lines(pdf: FPDF, inv: dict) -> None:
    """Each line: its number, description and direction, then its figures in plain cells; then the totals."""
    pdf.set_font("Helvetica", "B", 7)
    pdf.cell(32, 3.8, "")
    for h, w in zip(LINE_NUMBER_HEADINGS, LINE_WIDTHS, strict=True):
        pdf.cell(w, 3.8, h, border="B", align="R")
    pdf.ln(4.4)
    for no, description, direction, *figures in inv["lines"]:
        pdf.set_font("Helvetica", size=7)
        pdf.multi_cell(0, 3.8, latin1(f"{no}. {description} - {direction}"), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(32, 3.8, "")
        for v, w in zip(figures, LINE_WIDTHS, strict=True):
            pdf.cell(w, 3.8, latin1(v), align="R")
        pdf.ln(4.4)
    t = inv["totals"]
    pdf.set_font("Helvetica", "B", 7)
    pdf.cell(32 + LINE_WIDTHS[0] + LINE_WIDTHS[1], 4.2, latin1(f"Total ({t['balance']})"), border="T")
    for v, w in zip((t["net"], t["vat"], t["gross"]), LINE_WIDTHS[2:], strict=True):
        pdf.cell(w, 4.2, latin1(v), border="T", align="R")
    pdf.ln(6)
    pdf.set_font("Helvetica", size=7)


#: The daily table's headings in the PDF, two lines each (drawn as plain cells: fpdf2's table layout costs seconds
#: per statement at 30 rows, plain cells milliseconds; every daily value fits its column).
DAILY_HEADINGS_PDF = (("Day", ""), ("Infeed", "MWh"), ("Forecast", "MWh"), ("Infeed - forecast", "MWh"),
                      ("Forecast MAE", "% of capacity"), ("QH final / live /", "forecast / missing"),
                      ("Redispatched", "QH"), ("Redispatched MWh", "(forecast)"))
DAILY_WIDTHS = (20, 20, 20, 24, 22, 32, 20, 32)


def _grid(pdf: FPDF, headings, rows, widths, total) -> None:
    """A table of short values in plain cells (no line breaking): the daily rows."""
    pdf.set_font("Helvetica", "B", 7)
    for line in range(2):
        for i, (h, w) in enumerate(zip(headings, widths, strict=True)):
            pdf.cell(w, 3.6, latin1(h[line]), border="B" if line else 0, align="L" if i == 0 else "R")
        pdf.ln(3.6)
    pdf.set_font("Helvetica", size=7)
    for r in rows:
        for i, (v, w) in enumerate(zip(r, widths, strict=True)):
            pdf.cell(w, 3.8, latin1(v), align="L" if i == 0 else "R")
        pdf.ln(3.8)
    pdf.set_font("Helvetica", "B", 7)
    for i, (v, w) in enumerate(zip(total, widths, strict=True)):
        pdf.cell(w, 4.2, latin1(v), border="T", align="L" if i == 0 else "R")
    pdf.ln(6)
    pdf.set_font("Helvetica", size=7)


def render_pdf(model: dict) -> bytes:
    pdf = a4_document(model["title"], model["issuer"][0], f"{model['title']} for {', '.join(model['customer'])}",
                      "flexpower_dagster customer statements", model["issue_date"])
    pdf.set_font("Helvetica", size=8)
    for line in model["issuer"]:
        pdf.cell(0, 4, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, latin1(model["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for label, value in (("Customer", ", ".join(model["customer"])), ("Period", model["period"]),
                         ("Document date", model["document_date"])):
        pdf.cell(30, 5, latin1(label))
        pdf.multi_cell(0, 5, latin1(value), new_x="LMARGIN", new_y="NEXT")

    def heading(text: str, size: int = 11) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(0, 6, latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=7)

    heading("Contracts")
    _lines(pdf, [_contract_text(r) for r in model["contracts"]])
    heading("Daily infeed vs forecast and redispatch")
    if not model["assets"]:
        pdf.multi_cell(0, 4, "No infeed data this month.", new_x="LMARGIN", new_y="NEXT")
    for a in model["assets"]:
        heading(f"Asset {a['asset_id']}", 9)
        _grid(pdf, DAILY_HEADINGS_PDF, a["rows"], DAILY_WIDTHS, a["total"])
    heading("Invoice lines")
    if not model["invoices"]:
        pdf.multi_cell(0, 4, "No invoice for this month yet.", new_x="LMARGIN", new_y="NEXT")
    for inv in model["invoices"]:
        heading(f"Invoice {inv['invoice_id']} (contract {inv['contract_id']}, asset {inv['asset_id']})", 9)
        pdf.multi_cell(0, 4, latin1(f"Status: {inv['status']}. Document number: {inv['document_number']}."),
                       new_x="LMARGIN", new_y="NEXT")
        if inv["lines"]:
            _invoice_lines(pdf, inv)
    pdf.ln(2)
    pdf.set_font("Helvetica", size=7)
    for n in model["notes"]:
        pdf.multi_cell(0, 3.6, latin1(n), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
