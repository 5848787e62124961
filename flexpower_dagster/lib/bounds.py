"""Physical and market limits of every number read from a landing file (pure: no Dagster).

Every numeric input must be finite (``inf``, ``NaN`` spelled as a number: rule ``non-finite``) and lie within
the limits below (rule ``out-of-bounds``): a value outside cannot be a real measurement, forecast, price or
trade, and would make every downstream sum meaningless (a trade of 1e33 MW turns the day's revenue into
6.6e34 EUR). A file with such a value is rejected, naming row, column and limit. Per-asset plausibility
against the *contract* capacity (e.g. final production above 1.1 x capacity) is a finer, per-asset rule:
the asset is quarantined (``defs/crm/quarantine.py``), the file is kept. Reasons: docs/hardening.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError


@dataclass(frozen=True)
class Bounds:
    lo: float
    hi: float
    why: str

    def text(self, unit: str) -> str:
        return f"{self.lo:g}..{self.hi:g} {unit} ({self.why})"


#: The largest single asset anyone connects to a distribution grid is far below 10 GW.
POWER_MW = Bounds(-10_000.0, 10_000.0, "no single asset produces 10 GW")
#: EPEX SPOT intraday (continuous) harmonised price limits.
EXCHANGE_PRICE = Bounds(-9_999.0, 9_999.0, "EPEX intraday price limits")
#: An order's volume on the intraday market; the exchange's product limit is far below 10 GW.
TRADE_MW = Bounds(0.0, 10_000.0, "above the exchange's product volume limit")
#: Imbalance (reBAP) and redispatch compensation prices: historic extremes stay far inside.
SETTLEMENT_PRICE = Bounds(-100_000.0, 100_000.0, "far beyond any historic reBAP or compensation price")


def check_numbers(values: pd.Series | np.ndarray, name: str, column: str, bounds: Bounds, unit: str,
                  rows: pd.Series | np.ndarray | None = None) -> None:
    """Rules ``non-finite`` and ``out-of-bounds`` for the first offending non-NULL value of ``values``
    (``rows``: each value's row/element number for the message; default its position)."""
    v = np.asarray(values, dtype="float64")
    where = (lambda i: int(np.asarray(rows)[i])) if rows is not None else (lambda i: i)
    present = ~np.isnan(v)
    infinite = np.isinf(v)
    if infinite.any():
        i = int(infinite.nonzero()[0][0])
        raise SourceFileError(name, "non-finite", f"{column} is {v[i]!r}: every number must be finite", where(i))
    out = present & ((v < bounds.lo) | (v > bounds.hi))
    if out.any():
        i = int(out.nonzero()[0][0])
        n = int(out.sum())
        more = f" ({n - 1} more value(s) like this)" if n > 1 else ""
        raise SourceFileError(name, "out-of-bounds", f"{column} {v[i]:g} outside {bounds.text(unit)}{more}", where(i))
