"""The month's statement files: rendered per customer, written under ``<data dir>/statements/<YYYY-MM>/<slug>/``,
stale ones removed; and the statement an invoice e-mail attaches (pure: no Dagster).

Writing follows the invoice documents: a file whose bytes did not change is not rewritten (mtime kept), a new one
is written under a temporary name and renamed over the old one; every path is placed with
:func:`flexpower_dagster.lib.paths.safe_path` (inside the data directory whatever the name says). A customer folder
of the month that no longer has a customer (a contract moved to another e-mail) is removed with its files.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flexpower_dagster.defs.invoicing.parties import Issuer
from flexpower_dagster.defs.statements.data import CustomerMonth
from flexpower_dagster.defs.statements.render import render_html, render_pdf, statement_model
from flexpower_dagster.lib.customers import (
    STATEMENT_HTML,
    STATEMENT_PDF,
    STATEMENTS_DIR,
    CustomerError,
    month_folder,
    statement_files,
)
from flexpower_dagster.lib.paths import safe_path, write_if_changed


@dataclass(frozen=True)
class StatementFile:
    customer: str  # the customer key (e-mail, trimmed, lower case)
    path: str  # relative to the data directory
    kind: str  # html | pdf
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class MonthStatements:
    files: list[StatementFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # customers without a statement, and why
    render_seconds: float = 0.0

    @property
    def customers(self) -> int:
        return len({f.customer for f in self.files})


def render_month(customers: Iterable[CustomerMonth], month: date, issuer: Issuer, policy_sha256: str) -> MonthStatements:
    """The HTML and PDF of every customer's statement (in memory). A customer whose e-mail cannot name a folder
    (not a plain address) gets none and is listed in ``skipped`` with its contracts."""
    started = time.monotonic()
    out = MonthStatements()
    for cm in customers:
        try:
            paths = statement_files(month, cm.customer)
        except CustomerError as exc:
            out.skipped.append(f"contracts {', '.join(cm.contracts['contract_id'].astype(str))}: {exc}")
            continue
        model = statement_model(cm, month, issuer, policy_sha256)
        out.files.append(StatementFile(cm.customer, paths["html"], "html", render_html(model)))
        out.files.append(StatementFile(cm.customer, paths["pdf"], "pdf", render_pdf(model)))
    out.render_seconds = time.monotonic() - started
    return out


def write_month(data_dir: str | Path, month: date, statements: MonthStatements) -> list[Path]:
    """Write the month's statements; remove the month's customer folders that have none now. Returns the paths."""
    data_dir = Path(data_dir)
    written = []
    for f in statements.files:
        target = safe_path(data_dir, *f.path.split("/"))
        write_if_changed(target, f.content)
        written.append(target)
    month_dir = safe_path(data_dir, STATEMENTS_DIR, month_folder(month))
    keep = {p.parent for p in written}
    if month_dir.is_dir():
        for folder in sorted(month_dir.iterdir()):
            if folder.is_dir() and folder not in keep:
                for name in (STATEMENT_HTML, STATEMENT_PDF, f".{STATEMENT_HTML}.tmp", f".{STATEMENT_PDF}.tmp"):
                    (folder / name).unlink(missing_ok=True)
                if not any(folder.iterdir()):
                    folder.rmdir()
    return written
