"""Reading JSON landing files strictly, with clear, element-numbered errors (pure: no Dagster).

* :func:`load_json` — rules ``empty-file``, ``encoding``, ``truncated-json`` (the document ends early: a
  cut-off transfer), ``invalid-json`` (any other syntax error, with line and column), ``non-finite``
  (``NaN`` / ``Infinity``, which Python's JSON reader would otherwise accept);
* :func:`numeric` — a JSON array as float64; rule ``non-numeric`` names the first bad element.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.textfiles import read_text


def load_json(path: Path, name: str) -> Any:
    """The parsed JSON document; rules ``empty-file``, ``encoding``, ``truncated-json``, ``invalid-json``."""
    text = read_text(path, name)  # JSON is UTF-8 by RFC 8259; a BOM is tolerated
    def no_constants(token: str):
        raise SourceFileError(name, "non-finite", f"{token} is not a number: every number must be finite")

    try:
        return json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        if truncated:
            raise SourceFileError(
                name, "truncated-json", f"the document ends early ({exc.msg} at line {exc.lineno} column {exc.colno})", exc.lineno
            ) from exc
        raise SourceFileError(name, "invalid-json", f"{exc.msg} at line {exc.lineno} column {exc.colno}", exc.lineno) from exc


def numeric(name: str, column: str, values: list) -> pd.Series:
    """``values`` as float64; ``non-numeric`` names the first bad element (nulls stay NaN)."""
    try:  # fast path: numpy converts a list of numbers (None -> NaN) in one call
        return pd.Series(np.asarray(values, dtype="float64"))
    except (TypeError, ValueError):
        pass
    raw = pd.Series(values, dtype="object")
    try:
        num = pd.to_numeric(raw, errors="coerce")
    except (TypeError, ValueError) as exc:
        raise SourceFileError(name, "non-numeric", f"{column}: {exc}") from exc
    bad = raw.notna() & num.isna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise SourceFileError(name, "non-numeric", f"{column}[{i}] = {raw.iloc[i]!r} is not a number", i)
    return num.astype("float64")
