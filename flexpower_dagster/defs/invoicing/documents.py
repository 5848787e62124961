"""Invoice documents (HTML via Jinja2, PDF via fpdf2), the outbox (.eml) and the operations list (pure, no Dagster).

Everything here is deterministic: the same invoice rows give the same bytes.

* HTML: a Jinja2 template (``INVOICE_HTML``) rendered with autoescaping from a plain document model.
* PDF: drawn with fpdf2 from the same document model (:mod:`.pdf`), deterministic bytes.
* E-mail: :func:`flexpower_dagster.lib.mail.build_message` with the PDF attached; ``Date`` = issue date, ``Message-ID`` =
  invoice id + first 16 hex digits of the PDF's SHA-256, MIME boundary derived from the same hash.
  Nothing is ever sent: the ``.eml`` files are the outbox.
* Operations list: ``operations.csv`` with one row per blocked invoice (header only when none is blocked).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
import pandas as pd

from flexpower_dagster.defs.invoicing.lines import CUSTOMER_PAYS, FLEX_PAYS
from flexpower_dagster.defs.invoicing.pdf import render_pdf
from flexpower_dagster.defs.invoicing.tables import INVOICE_DOCUMENTS
from flexpower_dagster.lib.exports import safe_csv
from flexpower_dagster.lib.mail import Attachment, build_message
from flexpower_dagster.lib.paths import safe_path

SENDER = "FlexPower Invoicing <invoicing@flexpower.example>"
ISSUER_LINES = ("FlexPower GmbH", "RouteToMarket - Invoicing", "invoicing@flexpower.example")
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
<title>Invoice {{ inv.invoice_id }}</title>
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
<h1>Invoice {{ inv.invoice_id }}</h1>
<table class="meta">
  <tr><td>Invoice number</td><td>{{ inv.invoice_id }}</td></tr>
  <tr><td>Issue date</td><td>{{ inv.issue_date }}</td></tr>
  <tr><td>Customer</td><td>{{ inv.email }}</td></tr>
  <tr><td>Contract</td><td>{{ inv.contract_id }}</td></tr>
  <tr><td>Asset</td><td>{{ inv.asset_id }} (metering point {{ inv.metering_point_id }})</td></tr>
  <tr><td>Period</td><td>{{ inv.period }}</td></tr>
  <tr><td>Status</td><td class="status">{{ inv.status }}</td></tr>
</table>
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
<div class="notes">
  <p>Infeed volume {{ inv.volume }} MWh. VAT {{ inv.vat_percent }} % is computed per line on the net rounded to cents.</p>
  {% for n in inv.notes %}<p>{{ n }}</p>{% endfor %}
</div>
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_HTML_TEMPLATE = _ENV.from_string(INVOICE_HTML)

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


def document_model(invoice: dict, lines: pd.DataFrame) -> dict:
    """What the templates show for one (non-blocked) invoice row and its line rows."""
    status = invoice["status"]
    gross = int(invoice["gross_cents"])
    lines = lines.sort_values("line_no")
    return {
        "issuer": ISSUER_LINES,
        "invoice_id": invoice["invoice_id"],
        "issue_date": _day(invoice["issue_date"]).isoformat(),
        "email": invoice["email"],
        "contract_id": invoice["contract_id"],
        "asset_id": invoice["asset_id"],
        "metering_point_id": invoice["metering_point_id"] or "",
        "period": f"{_day(invoice['period_start']).isoformat()} to {_day(invoice['period_end']).isoformat()}"
        f" ({int(invoice['days_in_force'])} of {int(invoice['days_in_month'])} days)",
        "status": status,
        "watermark": "PROVISIONAL" if status == "provisional" else "",
        "vat_percent": 19,
        "volume": _num(invoice["volume_mwh"], 3),
        "lines": [
            {
                "no": int(line["line_no"]),
                "description": line["description"],
                "direction": _DIRECTION_TEXT[line["direction"]],
                "quantity": f"{_num(line['quantity'], 3 if line['quantity_unit'] == 'MWh' else 6)} {line['quantity_unit']}",
                "unit_price": (f"{_num(line['unit_price'], 2)} {line['unit_price_unit']}" if not pd.isna(line["unit_price"])
                               else line["unit_price_unit"]),
                "net": eur(line["net_cents"]),
                "vat": eur(line["vat_cents"]),
                "gross": eur(line["gross_cents"]),
            }
            for line in lines.to_dict("records")
        ],
        "net": eur(abs(int(invoice["net_cents"]))),
        "vat": eur(abs(int(invoice["vat_cents"]))),
        "gross": eur(abs(gross)),
        "balance_text": "FlexPower pays the customer" if gross >= 0 else "the customer pays FlexPower",
        "notes": ([f"Provisional: {invoice['problems']}"] if status == "provisional" and invoice["problems"] else []),
    }


def render_html(model: dict) -> bytes:
    return _HTML_TEMPLATE.render(inv=model).encode("utf-8")


def build_email(model: dict, to: str, issue_date: date, pdf: bytes) -> bytes:
    digest = hashlib.sha256(pdf).hexdigest()
    status = model["status"]
    body = [
        "Dear customer,",
        "",
        f"please find attached invoice {model['invoice_id']} for contract {model['contract_id']} "
        f"(asset {model['asset_id']}), period {model['period']}.",
        "",
        f"Total net {model['net']} EUR, VAT {model['vat']} EUR, gross {model['gross']} EUR: {model['balance_text']}.",
    ]
    if status == "provisional":
        body += ["", "This invoice is PROVISIONAL: it will be replaced once all final metering data is available."]
    body += ["", "Kind regards", ISSUER_LINES[0]]
    return build_message(
        sender=SENDER,
        to=to,
        subject=f"{'[PROVISIONAL] ' if status == 'provisional' else ''}Invoice {model['invoice_id']}",
        sent_at=datetime(issue_date.year, issue_date.month, issue_date.day, tzinfo=UTC),
        message_id=f"<{model['invoice_id']}.{digest[:16]}@invoicing.flexpower.example>",
        headers={"X-FlexPower-Invoice-Status": status},
        body="\n".join(body) + "\n",
        attachments=[Attachment(pdf, "application", "pdf", f"{model['invoice_id']}.pdf")],
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
    content: bytes


def month_documents(month: date, invoices: pd.DataFrame, lines: pd.DataFrame) -> list[Document]:
    """All files of an invoice month, in memory (nothing written)."""
    docs: list[Document] = []
    for inv in invoices.sort_values("invoice_id").to_dict("records"):
        if inv["status"] == "blocked":
            continue
        model = document_model(inv, lines[lines["invoice_id"] == inv["invoice_id"]])
        issue = _day(inv["issue_date"])
        pdf = render_pdf(model, issue)
        docs.append(Document(inv["html_path"], inv["invoice_id"], "html", render_html(model)))
        docs.append(Document(inv["pdf_path"], inv["invoice_id"], "pdf", pdf))
        docs.append(Document(inv["eml_path"], inv["invoice_id"], "eml", build_email(model, inv["email"], issue, pdf)))
    docs.append(Document(f"outbox/{month:%Y-%m}/{OPERATIONS_FILE}", None, "operations", operations_csv(invoices)))
    return docs


def _write_if_changed(path: Path, content: bytes) -> None:
    if path.is_file() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def month_dirs(data_dir: Path, month: date) -> tuple[Path, Path]:
    return data_dir / "invoices" / f"{month:%Y-%m}", data_dir / "outbox" / f"{month:%Y-%m}"


def write_documents(data_dir: Path, month: date, docs: Iterable[Document]) -> pd.DataFrame:
    """Write the month's files (atomic, unchanged files untouched), remove stale ones, return the manifest."""
    docs = list(docs)
    targets = {d.path: safe_path(data_dir, *d.path.split("/")) for d in docs}  # never outside data_dir
    wanted = set(targets.values())
    for d in docs:
        _write_if_changed(targets[d.path], d.content)
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
            "bytes": [len(d.content) for d in docs],
            "sha256": [hashlib.sha256(d.content).hexdigest() for d in docs],
        }
    )
    return INVOICE_DOCUMENTS.conform(manifest) if len(manifest) else INVOICE_DOCUMENTS.empty_frame()
