"""What each price and fee model pays, written once (domain.md quantity 7), for invoices and for estimates.

A :class:`Formula` is an arithmetic expression over named quantities. The same text is

* evaluated exactly in Python ``Decimal`` for a month's invoice (``mwh`` = the month's volume rounded to
  kWh, ``market_value`` = Σ MWh × market VWAP of each QH, ``days`` = days in force), and
* rendered as SQL for the daily estimates (per quarter-hour: ``mwh`` = best-of-infeed, ``market_value`` =
  MWh × market VWAP of the QH, ``days`` = 1/96; :func:`qh_quantities`), used by ``marts.asset_performance``
  and the report site.

Quantities: ``mwh``, ``market_value`` (EUR), ``price`` (EUR/MWh), ``fee`` (EUR/MWh or EUR/MW per month),
``fee_percent``, ``capacity`` (MW), ``days`` and ``days_in_month``. Pure module: no Dagster.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from flexpower_dagster.lib.sql import QHS_PER_DAY

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Formula:
    """``text``: names, numbers, ``+ - * /`` and parentheses, nothing else."""

    text: str

    def __post_init__(self) -> None:
        self._walk(ast.parse(self.text, mode="eval").body, None)  # validates the text once

    def names(self) -> set[str]:
        return {n.id for n in ast.walk(ast.parse(self.text, mode="eval")) if isinstance(n, ast.Name)}

    def value(self, values: Mapping[str, Decimal]) -> Decimal:
        """The formula in exact Decimal arithmetic."""
        return self._walk(ast.parse(self.text, mode="eval").body, values)

    def sql(self, columns: Mapping[str, str]) -> str:
        """The formula as a SQL expression, each name replaced by its column expression."""
        return self._sql(ast.parse(self.text, mode="eval").body, columns)

    def _walk(self, node: ast.AST, values: Mapping[str, Decimal] | None):
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = self._walk(node.left, values), self._walk(node.right, values)
            return None if values is None else _OPS[type(node.op)](left, right)
        if isinstance(node, ast.Name):
            return None if values is None else values[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return None if values is None else Decimal(str(node.value))
        raise ValueError(f"formula {self.text!r}: only names, numbers and + - * / are allowed")

    def _sql(self, node: ast.AST, columns: Mapping[str, str]) -> str:
        if isinstance(node, ast.BinOp):
            sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
            return f"({self._sql(node.left, columns)} {sym} {self._sql(node.right, columns)})"
        if isinstance(node, ast.Name):
            return f"({columns[node.id]})"
        return repr(float(node.value))


#: Infeed payout of the asset's energy, per price model.
PAYOUT: dict[str, Formula] = {
    "fixed": Formula("mwh * price"),
    "market": Formula("market_value"),
}

#: Service fee, per fee model (fixed_for_capacity: capacity x fee per month, pro rata by days in force).
FEE: dict[str, Formula] = {
    "fixed_as_produced": Formula("mwh * fee"),
    "fixed_for_capacity": Formula("capacity * fee * days / days_in_month"),
    "percent_of_market": Formula("market_value * fee_percent / 100"),
}


def case_sql(model_column: str, formulas: Mapping[str, Formula], columns: Mapping[str, str]) -> str:
    """``CASE <model_column> WHEN '<model>' THEN <formula> ... END`` (NULL for an unknown model)."""
    whens = " ".join(f"WHEN '{model}' THEN {f.sql(columns)}" for model, f in formulas.items())
    return f"CASE {model_column} {whens} END"


def qh_quantities(*, mwh: str, market_vwap: str, price: str, fee: str, fee_percent: str, capacity: str, day: str) -> dict[str, str]:
    """The formulas' quantities for the estimate of one quarter-hour, as SQL over the given column expressions.

    ``mwh`` is the QH's best-of-infeed MWh, ``market_value`` that MWh at the QH's market VWAP (NULL without a
    market VWAP: never a silent 0), ``days`` one QH of a day (1/96) and ``days_in_month`` the days of the month
    of ``day`` (a DATE expression), so a capacity fee is spread evenly over the QHs of its month.
    """
    return {
        "mwh": mwh,
        "market_value": f"{mwh} * {market_vwap}",
        "price": price,
        "fee": fee,
        "fee_percent": fee_percent,
        "capacity": capacity,
        "days": f"1.0 / {QHS_PER_DAY}",
        "days_in_month": f"day(last_day({day}))",
    }
