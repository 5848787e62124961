"""A customer, its folder name and where its monthly statement lies (pure: no Dagster, no domain).

A customer is identified by the e-mail of its CRM contracts, compared case-blind and trimmed (one customer may hold
several contracts): :func:`customer_key`. Its statements lie in ``statements/<YYYY-MM>/<slug>/`` under the data
directory, ``<slug>`` from :func:`customer_slug`: lower-case letters, digits and ``-`` only (never ``.``, ``/``
or anything a shell, URL or file system reads specially), at most 64 characters, and unique per customer (the
readable part is followed by 10 hex digits of the key's SHA-256, so ``a.b@x.de`` and ``a-b@x.de`` never share a
folder). An e-mail that is not a plain address (:func:`flexpower_dagster.lib.identifiers.valid_email`) has no slug.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

from flexpower_dagster.lib.identifiers import valid_email
from flexpower_dagster.lib.paths import safe_path

STATEMENTS_DIR = "statements"
STATEMENT_HTML = "statement.html"
STATEMENT_PDF = "statement.pdf"
#: A customer folder name: lower-case words of letters and digits joined by single ``-``.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 64
_HASH_HEX = 10


class CustomerError(ValueError):
    """A customer e-mail that cannot name a customer folder."""


def customer_key(email: str | None) -> str:
    """The customer an e-mail belongs to: trimmed, lower case ('' for none)."""
    return (email or "").strip().lower()


def customer_slug(email: str) -> str:
    """The customer's folder name (see module docstring); :class:`CustomerError` for anything but a plain address."""
    key = customer_key(email)
    if not valid_email(key):
        raise CustomerError(f"customer e-mail {email!r} is not a plain address: no statement folder can be named after it")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_HASH_HEX]
    readable = re.sub(r"[^a-z0-9]+", "-", key.replace("@", "-at-")).strip("-")
    readable = readable[: SLUG_MAX - _HASH_HEX - 1].strip("-")
    slug = f"{readable}-{digest}" if readable else digest
    if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:  # cannot happen by construction; the folder name is checked
        raise CustomerError(f"customer slug {slug!r} of {email!r} is not a safe folder name")
    return slug


def month_folder(month: date) -> str:
    return f"{month:%Y-%m}"


def statement_files(month: date, email: str) -> dict[str, str]:
    """The statement's files relative to the data directory: ``{"html": ..., "pdf": ...}``."""
    folder = f"{STATEMENTS_DIR}/{month_folder(month)}/{customer_slug(email)}"
    return {"html": f"{folder}/{STATEMENT_HTML}", "pdf": f"{folder}/{STATEMENT_PDF}"}


def statement_attachment_name(month: date) -> str:
    """File name of the statement attached to an invoice e-mail."""
    return f"statement-{month_folder(month)}.pdf"


class MissingStatementError(FileNotFoundError):
    """An invoice e-mail is due but its customer's statement of the month was not built."""


def read_statement_pdf(data_dir: str | Path, month: date, email: str) -> bytes:
    """The statement PDF of the customer of ``email`` for ``month``, to attach to that customer's invoice e-mail;
    :class:`MissingStatementError` when it was not built."""
    path = safe_path(Path(data_dir), *statement_files(month, email)["pdf"].split("/"))
    if not path.is_file():
        raise MissingStatementError(
            f"no customer statement {path} for {email} in {month:%Y-%m}: materialise customer_statements for the "
            f"month ({month.isoformat()}) before marts/invoice_documents (the invoice e-mail attaches it)")
    return path.read_bytes()
