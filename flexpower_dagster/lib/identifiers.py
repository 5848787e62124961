"""Identifiers that become file names, URLs and SQL values, validated once, at ingestion (pure: no Dagster).

A contract id becomes an invoice id and the name of its PDF, an asset id the parameter of a report URL and a
value in page SQL, a metering point a join key. Whatever a landing file says, an identifier that enters the
warehouse matches :data:`IDENTIFIER`: letters, digits, ``_``, ``-`` and ``.`` (not first), at most 64
characters — so it can never name a path outside its folder, break a URL or close a quoted SQL string.
A file with an identifier that does not match is rejected (rule ``identifier``), naming the row and column.

E-mail addresses go to the header of an e-mail: :func:`valid_email` accepts only a plain ``local@domain``
address of a conservative character set (:data:`EMAIL`) that :func:`email.utils.parseaddr` reads back
unchanged — no display names, no ``< > ( ) " = ;``, no line breaks.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError, excerpt

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}")


def is_identifier(value: str) -> bool:
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def require_identifier(value: str, name: str, what: str, row: int | None = None) -> str:
    """``value`` if it is a valid identifier, else rule ``identifier`` naming ``what`` (e.g. "asset_id")."""
    if not is_identifier(value):
        raise SourceFileError(
            name, "identifier", f"{what} {excerpt(value)} is not an identifier (letters, digits, _ - . ; at most 64)", row
        )
    return value


def require_identifiers(values: pd.Series, lines: pd.Series | None, name: str, what: str) -> None:
    """Rule ``identifier`` for the first non-empty value of ``values`` that is not an identifier."""
    present = values.notna() & values.astype("string").ne("")
    bad = present & ~values.astype("string").str.fullmatch(IDENTIFIER.pattern).fillna(False).astype(bool)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        row = int(lines.iloc[i]) if lines is not None else i
        require_identifier(values.iloc[i], name, what, row)


def valid_email(value: str | None) -> bool:
    """A plain address that is safe in an e-mail header (see module docstring)."""
    if not isinstance(value, str) or not EMAIL.fullmatch(value):
        return False
    return parseaddr(value) == ("", value)
