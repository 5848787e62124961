"""Invoice documents (HTML via Jinja2, PDF via fpdf2), the outbox (.eml) and the operations list (pure, no Dagster).

Everything here is deterministic: the same invoice rows give the same bytes.

* HTML: a Jinja2 template (``INVOICE_HTML``) rendered with autoescaping from a plain document model.
* PDF: drawn with fpdf2 from the same document model (:mod:`.pdf`), deterministic bytes.
* E-mail: :func:`flexpower_dagster.lib.mail.build_message` with the PDF attached (an invoice's e-mail also attaches its
  customer's monthly statement, ``statement-<YYYY-MM>.pdf``: docs/permissions.md); ``Date`` = issue date, ``Message-ID`` =
  document number + first 16 hex digits of the PDF's SHA-256, MIME boundary derived from the same hash.
  Only customer documents (final invoices, cancellations) get one: the ``.eml`` files are the outbox. A
  provisional invoice is an internal draft (HTML/PDF marked DRAFT), never e-mailed. Which documents are
  sent, and their numbers, is decided against the register (:mod:`.register`): a sent document is never rewritten.
* Operations list: ``operations.csv`` with one row per blocked invoice (header only when none is blocked).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import pandas as pd

from flexpower_dagster.defs.invoicing.lines import CUSTOMER_PAYS, FLEX_PAYS
from flexpower_dagster.defs.invoicing.parties import DEMO_ISSUER, NOT_IN_CRM, Issuer, text
from flexpower_dagster.defs.invoicing.pdf import render_pdf
from flexpower_dagster.defs.invoicing.register import (
    CANCELLATION,
    DRAFT,
    HELD,
    INVOICE,
    SENT,
    assign_documents,
    current_documents,
    document_number,
    document_paths,
    figures_sha256,
)
from flexpower_dagster.defs.invoicing.tables import INVOICE_DOCUMENTS, INVOICE_REGISTER
from flexpower_dagster.lib.customers import statement_attachment_name
from flexpower_dagster.lib.exports import safe_csv
from flexpower_dagster.lib.mail import Attachment, build_message
from flexpower_dagster.lib.paths import safe_path, write_if_changed

SENDER = "FlexPower Invoicing <invoicing@flexpower.example>"
#: Payment terms: the balance is due this many days after the document date (docs/invoicing.md).
PAYMENT_DAYS = 14
GUTSCHRIFT_SUBTITLE = ("Gutschrift - self-billing credit note (§ 14 Abs. 2 Satz 2 UStG) with FlexPower's invoice for "
                       "its service fee")
GUTSCHRIFT_NOTE = (
    "Gutschrift: the customer's supplies (electricity, redispatch) are settled by this self-billing credit note, issued "
    "by FlexPower as their recipient as agreed in the RouteToMarket contract (§ 14 Abs. 2 Satz 2 UStG); the service fee "
    "lines are FlexPower's invoice for its services, set off against the credit. VAT 19 % is computed per line on the "
    "net rounded to cents. If you object to this credit note or are not liable to VAT (e.g. § 19 UStG), tell us within "
    "14 days of receipt.")
INVOICE_NOTE = "VAT 19 % is computed per line on the net rounded to cents."


def issuer_lines(issuer: Issuer) -> tuple[str, ...]:
    return (issuer.name, "RouteToMarket - Invoicing", issuer.address,
            f"Tax number {issuer.tax_number} - VAT ID {issuer.vat_id} - {issuer.email}")

OPERATIONS_FILE = "operations.csv"
OPERATIONS_COLUMNS = ("invoice_id", "contract_id", "asset_id", "email", "status", "action", "problems")
#: What operations do about a blocked invoice, by ``invoices.blocked_by``.
OPERATIONS_ACTIONS = {
    "contract": "fix the contract data in the CRM, then re-run the month",
    "missing_input": "load the missing input named in the problems (e.g. re-deliver the day's file), then re-run the month",
}

INVOICE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ inv.title }}</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 2.5em; color: #222; position: relative; }
  h1 { margin-bottom: 0.2em; }
  table { border-collapse: collapse; width: 100%; margin-top: 1em; }
  th, td { border-bottom: 1px solid #ccc; padding: 0.35em 0.5em; text-align: left; vertical-align: top; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  tfoot td { font-weight: bold; border-top: 2px solid #222; }
  .meta td { border: none; padding: 0.1em 0.5em 0.1em 0; }
  .status { font-weight: bold; text-transform: uppercase; }
  .watermark { position: fixed; top: 38%; left: 8%; font-size: 7em; color: rgba(200, 0, 0, 0.15);
               transform: rotate(-30deg); pointer-events: none; z-index: 0; }
  .notes { margin-top: 1.5em; font-size: 0.9em; color: #555; }
</style>
</head>
<body>
{% if inv.watermark %}<div class="watermark">{{ inv.watermark }}</div>{% endif %}
<p>{% for l in inv.issuer %}{{ l }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>
<h1>{{ inv.title }}</h1>
<p>{{ inv.subtitle }}</p>
<table class="meta"><tr>
{% for heading, plines in inv.parties %}  <td><strong>{{ heading }}</strong><br>{% for l in plines %}{{ l }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
{% endfor %}</tr></table>
<table class="meta">
{% for label, value in inv.meta %}  <tr><td>{{ label }}</td><td>{{ value }}</td></tr>
{% endfor %}</table>
<table>
  <thead>
    <tr><th>#</th><th>Description</th><th>Direction</th><th class="num">Quantity</th><th class="num">Unit price</th>
        <th class="num">Net EUR</th><th class="num">VAT {{ inv.vat_percent }} %</th><th class="num">Gross EUR</th></tr>
  </thead>
  <tbody>
  {% for l in inv.lines %}
    <tr><td>{{ l.no }}</td><td>{{ l.description }}</td><td>{{ l.direction }}</td><td class="num">{{ l.quantity }}</td>
        <td class="num">{{ l.unit_price }}</td><td class="num">{{ l.net }}</td><td class="num">{{ l.vat }}</td>
        <td class="num">{{ l.gross }}</td></tr>
  {% endfor %}
  </tbody>
  <tfoot>
    <tr><td></td><td colspan="4">Total EUR ({{ inv.balance_text }})</td><td class="num">{{ inv.net }}</td>
        <td class="num">{{ inv.vat }}</td><td class="num">{{ inv.gross }}</td></tr>
  </tfoot>
</table>
<p>{{ inv.payment_terms }}</p>
<div class="notes">
  {% if inv.volume %}<p>Infeed volume {{ inv.volume }} MWh.</p>{% endif %}
  {% for n in inv.notes %}<p>{{ n }}</p>{% endfor %}
</div>
</body>
</html>
"""



@lru_cache(maxsize=1)
def _html_template():
    """The compiled invoice template, built on the first document of the process (Jinja2 is imported here: every run
    worker loads this module, few draw an invoice)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(INVOICE_HTML)

_DIRECTION_TEXT = {FLEX_PAYS: "FlexPower pays customer", CUSTOMER_PAYS: "Customer pays FlexPower"}


def eur(cents: int) -> str:
    """``1234567`` -> ``12,345.67``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{frac:02d}"


def _num(value, places: int) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.{places}f}"


def _day(value) -> date:
    return pd.Timestamp(value).date()


def _period(invoice: dict) -> str:
    return (f"{_day(invoice['period_start']).isoformat()} to {_day(invoice['period_end']).isoformat()}"
            f" ({int(invoice['days_in_force'])} days in force of {int(invoice['days_in_month'])})")


def _delivered(invoice: dict) -> str:
    """``14 of 30 days with data: 2025-06-01..2025-06-14``: the days actually invoiced."""
    n, of = invoice.get("n_days_with_data"), int(invoice["days_in_force"])
    if n is None or pd.isna(n):
        n = of - int(invoice.get("n_missing_days") or 0)
    days = invoice.get("days_with_data")
    days = days if isinstance(days, str) and days else "none"
    return f"{int(n)} of {of} days with data: {days}"


def _val(value) -> str:
    return text(value) or NOT_IN_CRM


def _parties(invoice: dict, issuer: Issuer, gutschrift: bool) -> list[tuple[str, list[str]]]:
    """Issuer and recipient blocks; a field missing from the contract data reads NOT_IN_CRM (never invented)."""
    tax = text(invoice.get("customer_tax_number"))
    vat = text(invoice.get("customer_vat_id"))
    return [
        ("Issuer" + (" (recipient of the supply, issues this credit note)" if gutschrift else ""),
         [issuer.name, issuer.address, f"Tax number: {issuer.tax_number}", f"VAT ID: {issuer.vat_id}", issuer.email]),
        ("Customer" + (" (asset owner, supplier of the electricity)" if gutschrift else ""),
         [_val(invoice.get("customer_name")), _val(invoice.get("customer_address")),
          f"Tax number: {tax or ('-' if vat else NOT_IN_CRM)}", f"VAT ID: {vat or ('-' if tax else NOT_IN_CRM)}",
          str(invoice.get("email") or NOT_IN_CRM)]),
    ]


def _trim(value: Decimal) -> str:
    """A quantity without trailing zeros (``4``, ``0.993333``), thousands separated."""
    q = value.normalize()
    places = max(-q.as_tuple().exponent, 0)
    return f"{value:,.{places}f}"


def _price(value: Decimal) -> str:
    """A contract price: at least 2 decimals, more if the contract has them."""
    places = max(-value.normalize().as_tuple().exponent, 2)
    return f"{value:,.{places}f}"


def applied_price(net_cents: int, quantity: Decimal) -> Decimal:
    """The volume-weighted average price actually applied (net / quantity), with the fewest decimals (4 to 10)
    for which quantity x price rounds half-up to the net: the printed line can be checked by multiplication."""
    net = Decimal(int(net_cents)) / 100
    for places in range(4, 11):
        price = (net / quantity).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if (quantity * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == net:
            return price
    return price


def _line(line: dict) -> dict:
    qty = None if pd.isna(line["quantity"]) else Decimal(repr(float(line["quantity"])))
    unit = line["quantity_unit"]
    qty = None if qty is None else qty.quantize(Decimal("0.001") if unit == "MWh" else Decimal("0.000001"))
    if not pd.isna(line["unit_price"]):
        price, price_text, avg = Decimal(repr(float(line["unit_price"]))), None, False
        price_text = f"{_price(price)} {line['unit_price_unit']}"
    elif qty:  # valued per quarter-hour: state the average actually applied
        price, avg = applied_price(int(line["net_cents"]), qty), True
        price_text = f"avg {price} EUR/{unit}"
    else:
        price, price_text, avg = None, "-", False
    return {
        "no": int(line["line_no"]),
        "description": line["description"] + (f" ({line['unit_price_unit']})" if avg else ""),
        "direction": _DIRECTION_TEXT[line["direction"]],
        "quantity": "-" if qty is None else f"{_trim(qty) if unit != 'MWh' else f'{qty:,.3f}'} {unit}",
        "unit_price": price_text,
        "net": eur(line["net_cents"]),
        "vat": eur(line["vat_cents"]),
        "gross": eur(line["gross_cents"]),
        # for checks: the numbers behind the printed text
        "quantity_value": qty,
        "unit_price_value": price,
        "net_cents": int(line["net_cents"]),
    }


#: The columns of :func:`printed_lines`: a line as the document prints it.
PRINTED_LINE_COLUMNS = ("invoice_id", "line_type", "printed_description", "printed_quantity", "printed_unit_price",
                        "printed_net")


def printed_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Every line of ``marts.invoice_lines`` as the document prints it (description, quantity with its unit, unit
    price, net), by the one formatter the PDF uses (:func:`_line`): the report site shows these texts, so a line
    reads the same on the site and on the PDF."""
    printed = [_line(line) for line in lines.to_dict("records")]
    return pd.DataFrame({
        "invoice_id": lines["invoice_id"].astype(str).tolist(),
        "line_type": lines["line_type"].astype(str).tolist(),
        "printed_description": [p["description"] for p in printed],
        "printed_quantity": [p["quantity"] for p in printed],
        "printed_unit_price": [p["unit_price"] for p in printed],
        "printed_net": [p["net"] for p in printed],
    }, columns=list(PRINTED_LINE_COLUMNS)).astype("object")


def _payment_terms(invoice: dict, gross: int, issuer: Issuer, sent: bool) -> str:
    due = _day(invoice["issue_date"]) + timedelta(days=PAYMENT_DAYS)
    who = ("FlexPower transfers it to the customer's bank account on file" if gross >= 0 else
           f"the customer pays it into FlexPower's account IBAN {issuer.iban}, quoting the document number")
    return (f"Payment terms{'' if sent else ' (once sent)'}: the balance of {eur(abs(gross))} EUR (gross) is payable "
            f"within {PAYMENT_DAYS} days of the document date, i.e. by {due.isoformat()}: {who}.")


def document_model(invoice: dict, lines: pd.DataFrame, issuer: Issuer = DEMO_ISSUER) -> dict:
    """What the templates show for one (non-blocked) invoice row and its line rows: the customer document
    ``invoice["document_number"]`` for a final invoice, else the internal draft (marked DRAFT, never sent)
    or, for a final invoice held for a missing legal field, the internal copy marked HELD (never sent)."""
    status = invoice["status"]
    held = status == "final" and invoice.get("document_status") == HELD and not invoice.get("document_number")
    draft = status != "final" or held
    number = invoice["invoice_id"] if draft else invoice["document_number"]
    gross = int(invoice["gross_cents"])
    lines = lines.sort_values("line_no")
    gutschrift = bool((lines["direction"] == FLEX_PAYS).any())
    kind = "Gutschrift" if gutschrift else "Invoice"
    meta = [("Document number", "none: internal draft, not sent" if draft else number),
            ("Invoice", invoice["invoice_id"])]
    if not draft and invoice.get("replaces_document_number"):
        meta.append(("Replaces", f"{invoice['replaces_document_number']} (cancelled)"))
    meta += [
        ("Document date", _day(invoice["issue_date"]).isoformat()),
        ("Contract", invoice["contract_id"]),
        ("Asset", f"{invoice['asset_id']} (metering point {invoice['metering_point_id'] or ''})"),
        ("Service period", _period(invoice)),
        ("Days delivered", _delivered(invoice)),
        ("Status", "FINAL - HELD, NOT SENT" if held else f"{status.upper()} - DRAFT, NOT SENT" if draft else status.upper()),
    ]
    notes = []
    if held:
        notes.append(f"Internal copy for finance: {invoice['hold_reason']}.")
    elif draft:
        notes.append("Internal draft for finance: the figures are not settled, this document is not sent to the customer.")
        if invoice["problems"]:
            notes.append(f"Provisional: {invoice['problems']}")
    model_lines = [_line(line) for line in lines.to_dict("records")]
    if any(line["unit_price"].startswith("avg ") for line in model_lines):
        notes.append("avg: the volume-weighted average price actually applied (net / quantity); each quarter-hour is "
                     "valued at its own price as stated in the description.")
    notes.append(GUTSCHRIFT_NOTE if gutschrift else INVOICE_NOTE)
    return {
        "issuer": issuer_lines(issuer),
        "title": f"{'DRAFT ' if draft else ''}{kind} {number}",
        "subtitle": GUTSCHRIFT_SUBTITLE if gutschrift else "Invoice",
        "kind": kind,
        "number": number,
        "invoice_id": invoice["invoice_id"],
        "contract_id": invoice["contract_id"],
        "asset_id": invoice["asset_id"],
        "period": _period(invoice),
        "parties": _parties(invoice, issuer, gutschrift),
        "meta": meta,
        "status": status,
        "watermark": ("HELD" if held else "DRAFT") if draft else "",
        "vat_percent": 19,
        "volume": _num(invoice["volume_mwh"], 3),
        "lines": model_lines,
        "net": eur(abs(int(invoice["net_cents"]))),
        "vat": eur(abs(int(invoice["vat_cents"]))),
        "gross": eur(abs(gross)),
        "balance_text": "FlexPower pays the customer" if gross >= 0 else "the customer pays FlexPower",
        "payment_terms": _payment_terms(invoice, gross, issuer, sent=not draft),
        "notes": notes,
    }


def cancellation_model(invoice: dict, cancelled: dict, number: str, issuer: Issuer = DEMO_ISSUER) -> dict:
    """The cancellation (Storno) of the sent document ``cancelled`` (a register row): its amounts negated."""
    net, vat, gross = (-int(cancelled[c]) for c in ("net_cents", "vat_cents", "gross_cents"))
    original = cancelled["document_number"]
    text_ = f"Cancellation of document {original} of {_day(cancelled['issue_date']).isoformat()}: all its amounts reversed"
    return {
        "issuer": issuer_lines(issuer),
        "title": f"Cancellation {number}",
        "subtitle": f"Cancellation (Storno) of document {original}",
        "kind": "Cancellation",
        "number": number,
        "invoice_id": invoice["invoice_id"],
        "contract_id": invoice["contract_id"],
        "asset_id": invoice["asset_id"],
        "period": _period(invoice),
        "parties": _parties({**invoice, "email": cancelled["email"]}, issuer, gutschrift=True),
        "meta": [
            ("Document number", number), ("Cancels", original), ("Invoice", invoice["invoice_id"]),
            ("Document date", _day(invoice["issue_date"]).isoformat()),
            ("Contract", invoice["contract_id"]),
            ("Asset", f"{invoice['asset_id']} (metering point {invoice['metering_point_id'] or ''})"),
            ("Service period", _period(invoice)), ("Status", "CANCELLATION"),
        ],
        "status": "cancellation",
        "watermark": "",
        "vat_percent": 19,
        "volume": "",
        "lines": [{"no": 1, "description": text_, "direction": "balance of the cancelled document, negated",
                   "quantity": "", "unit_price": "", "net": eur(net), "vat": eur(vat), "gross": eur(gross)}],
        "net": eur(net),
        "vat": eur(vat),
        "gross": eur(gross),
        "balance_text": f"cancels the balance of document {original}",
        "payment_terms": (f"Payment terms: the cancelled balance is settled with document {invoice['document_number']}, "
                          f"sent with this one (payable within {PAYMENT_DAYS} days of the document date)."),
        "notes": [f"Document {original} is cancelled by this document; it is replaced by document "
                  f"{invoice['document_number']}, sent with it."],
    }


def render_html(model: dict) -> bytes:
    return _html_template().render(inv=model).encode("utf-8")


def build_email(model: dict, to: str, issue_date: date, pdf: bytes, statement: Attachment | None = None) -> bytes:
    """The outbox message of a sent document (a final invoice or a cancellation), the PDF attached, and the
    customer's monthly statement after it when given."""
    digest = hashlib.sha256(pdf).hexdigest()
    if model["status"] == "cancellation":
        intro = f"please find attached {model['title'].lower()} for contract {model['contract_id']}"
    else:
        intro = f"please find attached {model['kind']} {model['number']} for contract {model['contract_id']}"
    body = [
        "Dear customer,",
        "",
        f"{intro} (asset {model['asset_id']}), period {model['period']}.",
        "",
        f"Total net {model['net']} EUR, VAT {model['vat']} EUR, gross {model['gross']} EUR: {model['balance_text']}.",
    ]
    if model["notes"]:
        body += ["", *model["notes"]]
    if statement is not None:
        body += ["", f"Also attached: your monthly statement ({statement.filename}): your assets' daily infeed vs "
                 "forecast, redispatch and the invoice lines of the month."]
    body += ["", model["payment_terms"], "", "Kind regards", model["issuer"][0]]
    return build_message(
        sender=SENDER,
        to=to,
        subject=model["title"],
        sent_at=datetime(issue_date.year, issue_date.month, issue_date.day, tzinfo=UTC),
        message_id=f"<{model['number']}.{digest[:16]}@invoicing.flexpower.example>",
        headers={"X-FlexPower-Invoice-Status": model["status"], "X-FlexPower-Document": model["number"],
                 "X-FlexPower-Invoice": model["invoice_id"]},
        body="\n".join(body) + "\n",
        attachments=[Attachment(pdf, "application", "pdf", f"{model['number']}.pdf"),
                     *([statement] if statement is not None else [])],
        boundary=f"=_flexpower_{digest[:32]}",
    )


def operations_csv(invoices: pd.DataFrame) -> bytes:
    """The blocked invoices for the people who fix contracts (opened in a spreadsheet: cells neutralised)."""
    blocked = invoices[invoices["status"] == "blocked"].sort_values("invoice_id")
    return safe_csv(
        OPERATIONS_COLUMNS,
        (
            [r["invoice_id"], r["contract_id"], r["asset_id"] or "", r["email"] or "", r["status"],
             OPERATIONS_ACTIONS.get(r.get("blocked_by"), OPERATIONS_ACTIONS["contract"]), r["problems"] or ""]
            for r in blocked.to_dict("records")
        ),
    )


@dataclass(frozen=True)
class Document:
    path: str  # relative to the data directory
    invoice_id: str | None
    kind: str
    content: bytes | None  # None: a file sent by an earlier run (immutable: kept, never rewritten)
    document_number: str | None = None
    sha256: str | None = None  # of a kept file, from the register

    @property
    def digest(self) -> str:
        return self.sha256 if self.content is None else hashlib.sha256(self.content).hexdigest()


#: The statement PDF of the customer of an e-mail address for the invoice month (``lib.customers.read_statement_pdf``).
StatementSource = Callable[[str], bytes]


def _rendered(model: dict, issue: date, paths: dict, inv: dict, to: str | None,
              statement_for: StatementSource | None = None) -> list[Document]:
    pdf = render_pdf(model, issue)
    number = None if model["watermark"] else model["number"]
    docs = [Document(paths["html_path"], inv["invoice_id"], "html", render_html(model), number),
            Document(paths["pdf_path"], inv["invoice_id"], "pdf", pdf, number)]
    if to is not None:
        statement = None
        if statement_for is not None:  # the statement of the customer this e-mail goes to, for the invoice's month
            statement = Attachment(statement_for(to), "application", "pdf",
                                   statement_attachment_name(_day(inv["invoice_month"])))
        docs.append(Document(paths["eml_path"], inv["invoice_id"], "eml",
                             build_email(model, to, issue, pdf, statement), number))
    return docs


def _register_row(inv: dict, number: str, seq: int, kind: str, refers_to, fp: str, cents: tuple, docs) -> dict:
    by_kind = {d.kind: d for d in docs}
    return {
        "invoice_month": inv["invoice_month"], "document_number": number, "invoice_id": inv["invoice_id"],
        "contract_id": inv["contract_id"], "seq": seq, "kind": kind, "refers_to": refers_to, "figures_sha256": fp,
        "email": inv["email"], "issue_date": inv["issue_date"],
        "net_cents": cents[0], "vat_cents": cents[1], "gross_cents": cents[2],
        **{f"{k}_path": by_kind[k].path for k in ("html", "pdf", "eml")},
        **{f"{k}_sha256": by_kind[k].digest for k in ("html", "pdf", "eml")},
    }


def issue_documents(
    month: date, invoices: pd.DataFrame, lines: pd.DataFrame, register: pd.DataFrame | None = None,
    issuer: Issuer = DEMO_ISSUER, statement_for: StatementSource | None = None,
) -> tuple[list[Document], pd.DataFrame]:
    """All files of an invoice month, in memory (nothing written), and the month's register after this run.

    * final but lacking a legally required field (``held``, no number yet): an internal copy marked HELD, no e-mail;
    * provisional: the internal draft (HTML + PDF marked DRAFT) under ``invoices/<YYYY-MM>/<invoice_id>``, no e-mail;
    * final, not sent yet with these figures: the invoice document (HTML, PDF, outbox e-mail) named by its new
      number, preceded by the cancellation of the previously sent document if there is one;
    * every document sent before: kept as it is (listed, never re-rendered);
    * blocked: nothing but its row in ``operations.csv``.

    ``statement_for`` (the asset passes it): an invoice document's e-mail attaches the statement PDF it returns for
    the e-mail's address (the customer's statement of the month; it raises when there is none); a cancellation's
    e-mail attaches only the cancellation. Without it (tests of the documents alone) no statement is attached.
    """
    register = INVOICE_REGISTER.empty_frame() if register is None else register
    invoices = assign_documents(invoices, lines, register)
    current, sent = current_documents(register), set(register["document_number"])
    docs: list[Document] = []
    new_rows: list[dict] = []
    for inv in invoices.sort_values("invoice_id").to_dict("records"):
        inv_lines = lines[lines["invoice_id"] == inv["invoice_id"]]
        issue = _day(inv["issue_date"])
        if inv["document_status"] == DRAFT or (inv["document_status"] == HELD and not inv["document_number"]):
            docs += _rendered(document_model(inv, inv_lines, issuer), issue, inv, inv, to=None)
        elif inv["document_status"] == SENT and inv["document_number"] not in sent:
            number = inv["document_number"]
            seq = int(number.rsplit("-", 1)[1])
            if inv["replaces_document_number"]:
                old = current[inv["invoice_id"]]
                cancel_no = document_number(inv["invoice_month"], inv["contract_id"], seq - 1)
                cancel_docs = _rendered(cancellation_model(inv, old, cancel_no, issuer), issue,
                                        document_paths(inv["invoice_month"], cancel_no, sent=True), inv, to=old["email"])
                docs += cancel_docs
                new_rows.append(_register_row(inv, cancel_no, seq - 1, CANCELLATION, old["document_number"],
                                              old["figures_sha256"],
                                              tuple(-int(old[c]) for c in ("net_cents", "vat_cents", "gross_cents")),
                                              cancel_docs))
            inv_docs = _rendered(document_model(inv, inv_lines, issuer), issue, inv, inv, to=inv["email"],
                                 statement_for=statement_for)
            docs += inv_docs
            new_rows.append(_register_row(inv, number, seq, INVOICE, inv["replaces_document_number"],
                                          figures_sha256(inv, inv_lines),
                                          tuple(int(inv[c]) for c in ("net_cents", "vat_cents", "gross_cents")), inv_docs))
    for r in register.to_dict("records"):  # sent before: immutable, kept as they are
        for k in ("html", "pdf", "eml"):
            docs.append(Document(r[f"{k}_path"], r["invoice_id"], k, None, r["document_number"], r[f"{k}_sha256"]))
    docs.append(Document(f"outbox/{month:%Y-%m}/{OPERATIONS_FILE}", None, "operations", operations_csv(invoices)))
    out = pd.concat([register, pd.DataFrame(new_rows)], ignore_index=True) if new_rows else register
    out = INVOICE_REGISTER.conform(out) if len(out) else INVOICE_REGISTER.empty_frame()
    return docs, out.sort_values(["invoice_id", "seq"]).reset_index(drop=True)


def month_documents(month: date, invoices: pd.DataFrame, lines: pd.DataFrame,
                    register: pd.DataFrame | None = None, issuer: Issuer = DEMO_ISSUER) -> list[Document]:
    """The files of :func:`issue_documents` (without the register)."""
    return issue_documents(month, invoices, lines, register, issuer)[0]


def month_dirs(data_dir: Path, month: date) -> tuple[Path, Path]:
    return data_dir / "invoices" / f"{month:%Y-%m}", data_dir / "outbox" / f"{month:%Y-%m}"


def write_documents(data_dir: Path, month: date, docs: Iterable[Document]) -> pd.DataFrame:
    """Write the month's new files (atomic, unchanged files untouched; files sent before are never rewritten),
    remove stale drafts, return the manifest."""
    docs = list(docs)
    targets = {d.path: safe_path(data_dir, *d.path.split("/")) for d in docs}  # never outside data_dir
    wanted = set(targets.values())
    for d in docs:
        if d.content is not None:
            write_if_changed(targets[d.path], d.content)
    for folder in month_dirs(data_dir, month):
        if folder.is_dir():
            for f in folder.iterdir():
                if f.suffix in (".html", ".pdf", ".eml") and f.resolve() not in wanted:
                    f.unlink()
    manifest = pd.DataFrame(
        {
            "invoice_month": [pd.Timestamp(month)] * len(docs),
            "path": [d.path for d in docs],
            "invoice_id": [d.invoice_id for d in docs],
            "kind": [d.kind for d in docs],
            "document_number": [d.document_number for d in docs],
            "bytes": [len(d.content) if d.content is not None else
                      (targets[d.path].stat().st_size if targets[d.path].is_file() else None) for d in docs],
            "sha256": [d.digest for d in docs],
        }
    )
    manifest = manifest.sort_values("path").reset_index(drop=True)
    return INVOICE_DOCUMENTS.conform(manifest) if len(manifest) else INVOICE_DOCUMENTS.empty_frame()
