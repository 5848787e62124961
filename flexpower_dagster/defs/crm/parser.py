"""Parser of the CRM contract snapshot ``crm/asset_contracts_YYYYMMDD_HHMMSS.csv`` (pure, no Dagster).

One file is a full snapshot of every contract (comma CSV, header line, one contract per line).
:func:`parse_contracts` returns the columns of ``staging.crm_contracts`` except the lineage columns
(``delivery_day``, ``source_file``), typed and normalised:

* ``capacity`` (MW) -> ``capacity_mw``; ``price`` -> ``price_eur_per_mwh``; ``fee`` -> ``fee_eur``;
* ``contract_begin`` / ``contract_end`` as dates; an empty ``contract_end`` is NULL (open-ended);
* empty numbers are NULL, never 0 (an inconsistent contract is a data-quality problem judged by
  :mod:`flexpower_dagster.defs.crm.rules`, not a parse error);
* ``snapshot_created_at`` from the file name (read as UTC).

Rules (each raises :class:`SourceFileError` naming the file and, where known, the 1-based line):

============================  =====================================================================
``empty-file``                the file holds no bytes / only whitespace
``encoding``                  the file is not UTF-8 text (a UTF-8 BOM is accepted)
``file-name``                 the snapshot time in the file name is not a real date/time
``csv-syntax``                the CSV cannot be tokenised (e.g. an unclosed quote)
``field-count``               a line has more or fewer fields than the header
``missing-columns``           header lacks required columns
``duplicate-column``          the header repeats a column name (which one is meant is never guessed)
``unexpected-columns``        header has columns this parser does not know
``no-rows``                   header only: a full snapshot with no contract would empty the portfolio
``required-value``            empty ``contract_id``, ``asset_id`` or ``contract_begin``
``number``                    a non-empty number that does not parse (``capacity``, ``price``, ...)
``date``                      a non-empty date that is not ``YYYY-MM-DD``
``identifier``                ``contract_id``, ``asset_id`` or ``metering_point_id`` is not an identifier
                              (:mod:`flexpower_dagster.lib.identifiers`: it becomes a file name, a URL)
``duplicate-contract-id``     the same ``contract_id`` twice in one snapshot
============================  =====================================================================
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.bounds import Bounds, check_numbers
from flexpower_dagster.lib.csvparse import check_header_unique
from flexpower_dagster.lib.errors import SourceFileError, excerpt
from flexpower_dagster.lib.identifiers import require_identifiers
from flexpower_dagster.lib.textfiles import read_text

#: Contract numbers must be finite; their plausible ranges are per-contract problems (``terms.py``), so that
#: one absurd contract blocks its own invoice, not the snapshot.
ANY_NUMBER = Bounds(-1e12, 1e12, "no contract term is that large")

#: ``asset_contracts_YYYYMMDD_HHMMSS.csv``
FILE_PATTERN = re.compile(r"asset_contracts_(\d{8})_(\d{6})\.csv")

#: CSV column -> staging column, in the order of the staging table.
CSV_COLUMNS: dict[str, str] = {
    "contract_id": "contract_id",
    "asset_id": "asset_id",
    "metering_point_id": "metering_point_id",
    "capacity": "capacity_mw",
    "technology": "technology",
    "contract_begin": "contract_begin",
    "contract_end": "contract_end",
    "price_model": "price_model",
    "price": "price_eur_per_mwh",
    "fee_model": "fee_model",
    "fee": "fee_eur",
    "fee_percent": "fee_percent",
    "email": "email",
}
NUMBER_COLUMNS = ("capacity", "price", "fee", "fee_percent")
DATE_COLUMNS = ("contract_begin", "contract_end")
REQUIRED_VALUES = ("contract_id", "asset_id", "contract_begin")
#: Categorical columns normalised to lower case (``Fixed`` and ``fixed`` mean the same model).
LOWER_CASE_COLUMNS = ("technology", "price_model", "fee_model")

OUTPUT_COLUMNS = [*CSV_COLUMNS.values(), "snapshot_created_at"]


def snapshot_time(basename: str) -> datetime:
    """The snapshot's creation time from its file name (UTC); raises ``ValueError`` if not a real instant."""
    m = FILE_PATTERN.fullmatch(basename)
    if not m:
        raise ValueError(f"{basename} is not named asset_contracts_YYYYMMDD_HHMMSS.csv")
    return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")


def _first_line(mask: pd.Series) -> int:
    """1-based file line (header = line 1) of the first True in ``mask`` (index = data line 0..n-1)."""
    return int(mask.index[mask.to_numpy()][0]) + 2


def parse_contracts(path: Path, name: str | None = None) -> pd.DataFrame:
    """Parse one CRM snapshot file (see module docstring for the output and the rules)."""
    path = Path(path)
    name = name or path.name
    try:
        created = snapshot_time(path.name)
    except ValueError as exc:
        raise SourceFileError(name, "file-name", str(exc)) from exc
    text = read_text(path, name, complete_lines=True)

    try:
        # csv (C tokeniser) keeps each line's real field count; pandas would pad or drop fields silently
        reader = csv.reader(io.StringIO(text), strict=True)
        records = list(reader)
    except csv.Error as exc:
        raise SourceFileError(name, "csv-syntax", str(exc), reader.line_num or None) from exc
    header = [c.strip() for c in records[0]] if records else []
    if not any(header):
        raise SourceFileError(name, "missing-columns", "the first line (header) is empty", 1)
    check_header_unique(header, name, row=1)
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise SourceFileError(name, "missing-columns", f"header lacks {missing} (header starts {excerpt(','.join(header))})", 1)
    extra = [c for c in header if c not in CSV_COLUMNS]
    if extra:
        raise SourceFileError(name, "unexpected-columns", f"header has unknown columns {extra}", 1)

    # DataFrame of the data lines: short lines are padded with None, long lines add columns.
    # Blank lines stay as all-None rows (dropped below) so that index + 2 is the file's line number.
    n = len(header)
    raw = pd.DataFrame(records[1:], dtype=object)
    if raw.shape[1] < n:
        raw = raw.reindex(columns=range(n))
    blank = raw.isna().all(axis=1) | (raw.iloc[:, 0].eq("") & raw.iloc[:, 1:].isna().all(axis=1))
    if raw.shape[1] > n:
        long_ = raw.iloc[:, n:].notna().any(axis=1) & ~blank
        if long_.any():
            line = _first_line(long_)
            raise SourceFileError(
                name, "field-count", f"{int(raw.loc[line - 2].notna().sum())} fields where the header has {n}", line
            )
    short = raw.iloc[:, :n].isna().any(axis=1) & ~blank
    if short.any():
        line = _first_line(short)
        raise SourceFileError(
            name, "field-count", f"{int(raw.loc[line - 2].notna().sum())} fields where the header has {n}", line
        )
    raw = raw.loc[~blank].iloc[:, :n]
    raw.columns = header
    if raw.empty:
        raise SourceFileError(name, "no-rows", "the snapshot holds a header but no contract", 1)

    values = raw.apply(lambda col: col.astype(str).str.strip())

    for col in REQUIRED_VALUES:
        empty = values[col].eq("")
        if empty.any():
            raise SourceFileError(name, "required-value", f"empty {col}", _first_line(empty))

    out = pd.DataFrame(index=values.index)
    for src, dst in CSV_COLUMNS.items():
        col = values[src]
        present = col.ne("")
        if src in NUMBER_COLUMNS:
            num = pd.to_numeric(col.where(present), errors="coerce")
            bad = present & num.isna()
            if bad.any():
                line = _first_line(bad)
                raise SourceFileError(name, "number", f"{src} {col[bad].iloc[0]!r} is not a number", line)
            out[dst] = num.astype("float64")
            check_numbers(out[dst], name, src, ANY_NUMBER, "", rows=out.index + 2)
        elif src in DATE_COLUMNS:
            dates = pd.to_datetime(col.where(present), format="%Y-%m-%d", errors="coerce")
            bad = present & dates.isna()
            if bad.any():
                line = _first_line(bad)
                raise SourceFileError(name, "date", f"{src} {col[bad].iloc[0]!r} is not a date YYYY-MM-DD", line)
            out[dst] = dates.astype("datetime64[ns]")
        else:
            text_col = col.str.lower() if src in LOWER_CASE_COLUMNS else col
            out[dst] = text_col.where(present, None).astype("object")

    lines = pd.Series(out.index + 2, index=out.index)  # the file's line numbers (header = 1)
    for col in ("contract_id", "asset_id", "metering_point_id"):
        require_identifiers(out[col], lines, name, col)

    dup = out["contract_id"].duplicated()
    if dup.any():
        line = _first_line(dup)
        raise SourceFileError(
            name, "duplicate-contract-id", f"contract_id {out['contract_id'][dup].iloc[0]!r} appears more than once", line
        )

    out["snapshot_created_at"] = pd.Timestamp(created)
    out["snapshot_created_at"] = out["snapshot_created_at"].astype("datetime64[ns]")
    return out.loc[:, OUTPUT_COLUMNS].reset_index(drop=True)
