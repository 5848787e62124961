"""Leak scan of a built site: no identifier and no withheld value outside the audience's scope (pure: no Dagster).

An Evidence build ships every row its pages query to the browser (parquet data files, prerendered HTML, JS), so the
proof that an audience's site holds only its data is a scan of **every file** of the built site:

* **identifiers** the audience may not see (:data:`IDENTIFIERS`: customer e-mails, names, addresses, tax and VAT
  numbers, metering points, FlexPower's private trade ids, invoice ids and invoice numbers): a kind is forbidden
  when the policy grants the audience none of the columns that carry it; its values are read from the warehouse
  (every row: what the audience must not find), and searched in every file's text: parquet files decoded by DuckDB
  (every cell as text, and the column names), gzip files decompressed, everything else read as UTF-8 (binary
  files such as fonts are searched byte-wise the same way);
* **withheld values**: a column the policy withholds from a table the audience is granted (e.g. trading's
  ``marts.contracts_in_force.price_eur_per_mwh``, ``fee_eur``, ``asset_performance.payout_eur_est``: contract
  prices and fees are numbers, not identifiers): no value it holds in the warehouse may appear in a column of the same
  name in any parquet file of the site (the audience's report tables carry such a column as NULL; a column of that
  name *computed* from what the audience may see, e.g. the portfolio's margin over its known parts, holds other
  values). Boolean columns and zeros are left out (they identify nothing).

:func:`scan_site` returns the hits (file, kind, value); an audience's site is published only with none
(``sites.build_audience_site``), and ``tests/permissions/test_sites.py`` proves the scanner finds such identifiers
in the data-engineering site (the positive control).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flexpower_dagster.defs.permissions.policy import Audience, Policy
from flexpower_dagster.lib.sql import quote

#: Identifier kinds and the (table, column)s carrying them. A kind is forbidden to an audience granted none of them.
IDENTIFIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "customer e-mail": (("marts.contracts_in_force", "email"), ("marts.invoices", "email"),
                        ("marts.invoice_register", "email"), ("staging.crm_contracts", "email")),
    "customer name": (("marts.invoices", "customer_name"),),
    "customer address": (("marts.invoices", "customer_address"),),
    "customer tax number": (("marts.invoices", "customer_tax_number"),),
    "customer VAT id": (("marts.invoices", "customer_vat_id"),),
    "metering point": (("marts.contracts_in_force", "metering_point_id"), ("marts.invoices", "metering_point_id"),
                       ("marts.best_of_infeed", "metering_point_id"), ("staging.crm_contracts", "metering_point_id")),
    "private trade id": (("staging.exchange_private_trades", "trade_id"),),
    "invoice id": (("marts.invoices", "invoice_id"), ("marts.invoice_lines", "invoice_id"),
                   ("marts.invoice_register", "invoice_id"), ("marts.invoice_documents", "invoice_id")),
    "invoice number": (("marts.invoices", "document_number"), ("marts.invoice_register", "document_number"),
                       ("marts.invoice_documents", "document_number")),
}
#: Shorter values are not searched (a 3-character value would be found by chance).
MIN_LENGTH = 5
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Hit:
    file: str  # relative to the site
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind} {self.value!r}"


def _granted(audience: Audience, table: str, column: str) -> bool:
    grant = audience.grants.get(table)
    return audience.everything or (grant is not None and column in grant.columns)


def forbidden_kinds(audience: Audience) -> list[str]:
    """The identifier kinds the audience is granted none of the columns of."""
    return [kind for kind, cols in IDENTIFIERS.items() if not any(_granted(audience, t, c) for t, c in cols)]


def withheld_columns(audience: Audience, policy: Policy) -> dict[str, list[str]]:
    """Column name -> the granted tables it is withheld from (their values must not be in the audience's site under
    that name). The same name granted in another table (trading: the trades' ``price_eur_per_mwh``) is still checked:
    only the withheld table's values are searched."""
    if audience.everything:
        return {}
    out: dict[str, list[str]] = {}
    for table, grant in sorted(audience.grants.items()):
        for column in policy.tables[table].columns:
            if column.name not in grant.columns and column.type.upper() != "BOOLEAN":
                out.setdefault(column.name, []).append(table)
    return out


def withheld_values(conn: duckdb.DuckDBPyConnection, withheld: Mapping[str, list[str]]) -> dict[str, set[str]]:
    """Column name -> its distinct values (as text) in the warehouse ``conn`` reads, over the tables it is withheld
    from (a table or column the warehouse lacks adds nothing)."""
    have = _columns(conn)
    out: dict[str, set[str]] = {}
    for column, tables in withheld.items():
        values: set[str] = set()
        for table in tables:
            if (table, column) in have:
                values |= {v for v in _distinct(conn, table, column) if not _zero(v)}
        if values:
            out[column] = values
    return out


def _zero(value: str) -> bool:
    """A zero identifies nothing: a margin of 0.00 computed from what the audience may see (a day without trades) is
    not the withheld 0.00 of an asset (the demo's ``make run`` found exactly that)."""
    try:
        return float(value) == 0
    except ValueError:
        return False


def _columns(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (f"{s}.{t}", c)
        for s, t, c in conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database()"
        ).fetchall()
    }


def _distinct(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> set[str]:
    schema, name = table.split(".", 1)
    return {
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT trim(CAST({quote(column)} AS VARCHAR)) FROM {quote(schema)}.{quote(name)} "
            f"WHERE {quote(column)} IS NOT NULL"
        ).fetchall()
        if r[0]
    }


def forbidden_identifiers(conn: duckdb.DuckDBPyConnection, kinds: list[str]) -> dict[str, set[str]]:
    """``kind -> values`` of ``kinds``, read from the warehouse ``conn`` reads (tables it lacks add nothing)."""
    have = _columns(conn)
    out: dict[str, set[str]] = {}
    for kind in kinds:
        values: set[str] = set()
        for table, column in IDENTIFIERS[kind]:
            if (table, column) in have:
                values |= {v for v in _distinct(conn, table, column) if len(v) >= MIN_LENGTH}
        out[kind] = values
    return out


class _Matcher:
    """Finds any of the identifiers in a text: digit-only values by the text's digit runs (a set lookup: trade ids
    are many), the others by one regular expression."""

    def __init__(self, identifiers: Mapping[str, set[str]]):
        self.digits: dict[str, str] = {}
        words: dict[str, str] = {}
        for kind, values in identifiers.items():
            for v in values:
                (self.digits if v.isdigit() else words)[v] = kind
        self.words = words
        self.pattern = (
            re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
            if words else None
        )
        self._lower = {w.lower(): k for w, k in words.items()}

    def find(self, text: str) -> set[tuple[str, str]]:
        found = set()
        if self.digits:
            for run in set(_DIGITS.findall(text)):
                if run in self.digits:
                    found.add((self.digits[run], run))
        if self.pattern is not None:
            for m in set(self.pattern.findall(text)):
                found.add((self._lower[m.lower()], m))
        return found


def _parquet(conn: duckdb.DuckDBPyConnection, path: Path, withheld: Mapping[str, set[str]]) -> tuple[str, list[tuple[str, str]]]:
    """The parquet file's text (column names and every cell) and, per column named like a withheld one, a withheld
    value it holds (placeholder rows left out)."""
    names = conn.read_parquet(str(path)).columns
    parts = ["\n".join(names)]
    if names:
        text = conn.execute(
            "SELECT string_agg(concat_ws(chr(31), " + ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c in names)
            + "), chr(30)) FROM read_parquet(?)", [str(path)]
        ).fetchone()[0]
        parts.append(text or "")
    found = []
    live = "NOT coalesce(is_placeholder, false)" if "is_placeholder" in names else "true"
    for col in sorted(set(names) & set(withheld)):
        row = conn.execute(
            f"SELECT any_value(v) FROM (SELECT trim(CAST({quote(col)} AS VARCHAR)) AS v FROM read_parquet($path) "
            f"WHERE {live}) WHERE v IN (SELECT unnest($values))",
            {"path": str(path), "values": sorted(withheld[col])},
        ).fetchone()
        if row and row[0] is not None:
            found.append((col, row[0]))
    return "\n".join(parts), found


def scan_site(site: str | Path, identifiers: Mapping[str, set[str]],
              withheld: Mapping[str, set[str]] | None = None) -> list[Hit]:
    """Every forbidden identifier (``kind -> values``) and withheld value (``column -> values``,
    :func:`withheld_values`) found in any file under ``site``."""
    site = Path(site)
    matcher = _Matcher(identifiers)
    if not matcher.digits and not matcher.words and not withheld:  # nothing forbidden (data-engineering)
        return []
    hits: list[Hit] = []
    with duckdb.connect() as conn:
        for path in sorted(p for p in site.rglob("*") if p.is_file()):
            rel = path.relative_to(site).as_posix()
            if path.suffix == ".parquet":
                text, valued = _parquet(conn, path, withheld or {})
                hits += [Hit(rel, f"withheld column {col}", value) for col, value in valued]
            else:
                raw = path.read_bytes()
                if path.suffix == ".gz":
                    raw = gzip.decompress(raw)
                text = raw.decode("utf-8", errors="replace")
            hits += [Hit(rel, kind, value) for kind, value in sorted(matcher.find(text))]
    return hits
