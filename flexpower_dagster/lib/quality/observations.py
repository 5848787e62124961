"""What a failed expectation observed, against its limit, in words a person can act on (pure: pandas only).

A check's *description* says the rule ("at most 5 % of QHs priced with estimates"); its *result* says what
was seen: ``10 of 96 QHs (10.4 %) have price_source 'estimate' (expected 'final'); limit 5 %``. For an
expectation with an entity column (an asset, a contract) the observation is given per entity, computed on
that entity's rows: ``SOL-DE-001: ...``. Passing expectations observe nothing.

:func:`observe` fills ``ExpectationResult.observation`` and ``entity_observations`` from the frame the
expectation ran on and its failing rows (``failing_index``); one sentence per GX expectation type this
project uses, and a generic one for any other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from flexpower_dagster.lib.quality.gx_runner import Expectation, ExpectationResult

#: Per-entity observations kept per expectation (the counts are always complete).
MAX_ENTITY_OBSERVATIONS = 50
#: Distinct failing values named in one observation.
MAX_VALUES = 3


def row_noun(key: Sequence[str]) -> str:
    """What one row of a table with this key is, for observations: quarter-hours when the key holds the QH."""
    return "QHs" if "delivery_start" in key else "rows"


def fmt(value: Any) -> str:
    """A value as an observation shows it: numbers without float noise, text quoted, NULL, ISO times."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NULL"
        return f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        t = pd.Timestamp(value)
        return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return fmt(value.item())
    return repr(str(value))


def _values(series: pd.Series) -> str:
    distinct = list(dict.fromkeys(series.tolist()))
    shown = ", ".join(fmt(v) for v in distinct[:MAX_VALUES])
    return shown + (f" (+{len(distinct) - MAX_VALUES} more)" if len(distinct) > MAX_VALUES else "")


def _count(k: int, n: int, noun: str) -> str:
    return f"{k} of {n} {noun} ({100.0 * k / n:.1f} %)" if n else f"{k} {noun}"


def _range(lo: Any, hi: Any, strict_min: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"expected {fmt(lo)}" if lo == hi else f"allowed {fmt(lo)} .. {fmt(hi)}"
    if lo is not None:
        return f"must be {'>' if strict_min else '>='} {fmt(lo)}"
    return f"must be <= {fmt(hi)}"


def _limit(kwargs: dict) -> str:
    mostly = kwargs.get("mostly")
    return f"; limit {100.0 * (1.0 - mostly):.3g} %" if mostly is not None else ""


def _where(kwargs: dict) -> str:
    cond = kwargs.get("row_condition")
    if not isinstance(cond, str) or not cond:
        return ""
    return " (where " + cond.replace("==", " = ").replace('"', "'") + ")"


def _scope(frame: pd.DataFrame, kwargs: dict) -> pd.DataFrame:
    """The rows an expectation judged: ``row_condition`` applied (pandas syntax), else every row."""
    cond = kwargs.get("row_condition")
    if isinstance(cond, str) and cond and kwargs.get("condition_parser") == "pandas":
        try:
            return frame.query(cond)
        except Exception:
            return frame
    return frame


def _rows_sentence(e: Expectation, failing: pd.DataFrame, scope: pd.DataFrame, noun: str) -> str:
    """One sentence for a row-level expectation over ``failing`` of the ``scope`` rows."""
    kw = dict(e.kwargs)
    k, n = len(failing), len(scope)
    single = n == 1
    col = kw.get("column")
    if e.type == "ExpectColumnValuesToNotBeNull":
        where = _where(kw)
        return f"{col} is NULL{where}" if single else f"{col} is NULL in {_count(k, n, noun)}{where}"
    if e.type == "ExpectColumnValuesToBeInSet":
        allowed = ", ".join(fmt(v) for v in kw.get("value_set", []))
        got = _values(failing[col]) if col in failing else "?"
        if single:
            return f"{col} = {got} (expected {allowed})"
        return f"{_count(k, n, noun)} have {col} = {got} (expected {allowed}){_limit(kw)}"
    if e.type == "ExpectColumnValuesToBeBetween":
        limit = _range(kw.get("min_value"), kw.get("max_value"), bool(kw.get("strict_min")))
        if col not in failing:
            return f"{_count(k, n, noun)} with {col} outside the range; {limit}"
        if single:
            return f"{col} = {fmt(failing[col].iloc[0])}; {limit}"
        vals = pd.to_numeric(failing[col], errors="coerce")
        seen = fmt(vals.min()) if vals.min() == vals.max() else f"{fmt(vals.min())} .. {fmt(vals.max())}"
        return f"{_count(k, n, noun)} with {col} = {seen}; {limit}{_limit(kw)}"
    if e.type == "ExpectColumnPairValuesAToBeGreaterThanB":
        a, b = kw.get("column_A"), kw.get("column_B")
        op = ">=" if kw.get("or_equal") else ">"
        first = failing.iloc[0] if k else None
        example = f"{a} = {fmt(first[a])}, {b} = {fmt(first[b])}" if first is not None and a in failing and b in failing else ""
        if single or k == 1:
            return f"{example}; expected {a} {op} {b}"
        return f"{_count(k, n, noun)} with {a} not {op} {b}, e.g. {example}"
    if e.type == "ExpectColumnValuesToMatchRegex":
        got = _values(failing[col]) if col in failing else "?"
        return f"{col} = {got} does not match the expected form" + ("" if single else f" ({_count(k, n, noun)})")
    if e.type in ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"):
        cols = [col] if col else list(kw.get("column_list", []))
        present = [c for c in cols if c in failing]
        example = ", ".join(fmt(v) for v in failing.iloc[0][present]) if k and present else ""
        return f"({', '.join(cols)}) repeated in {k} {noun}" + (f", e.g. ({example})" if example else "")
    return f"{_count(k, n, noun)} fail" + (f", e.g. {_values(failing[col])}" if col in failing else "")


def _table_sentence(e: Expectation, r: ExpectationResult) -> str:
    kw = dict(e.kwargs)
    if e.type == "ExpectTableRowCountToBeBetween":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        limit = f"expected at least {lo}" if hi is None else _range(lo, hi)
        return f"{fmt(r.observed)} rows; {limit}"
    if e.type == "ExpectTableColumnsToMatchSet":
        seen = set(r.observed or [])
        wanted = set(kw.get("column_set") or [])
        parts = []
        if wanted - seen:
            parts.append("missing " + ", ".join(sorted(wanted - seen)))
        if seen - wanted:
            parts.append("unexpected " + ", ".join(sorted(seen - wanted)))
        return "columns: " + ("; ".join(parts) if parts else fmt(r.observed))
    return f"observed {fmt(r.observed)}" if r.observed is not None else f"{r.failing_rows} failing"


def observe(r: ExpectationResult, e: Expectation, frame: pd.DataFrame, noun: str = "rows") -> ExpectationResult:
    """``r`` with ``observation`` (the whole frame) and ``entity_observations`` (per entity) filled in."""
    if r.passed:
        return r
    if r.error:
        r.observation = f"could not be evaluated: {r.error}"
        return r
    kw = dict(e.kwargs)
    df = frame.reset_index(drop=True)  # the failing index refers to the frame as validated (gx_runner.validate)
    index = [i for i in r.failing_index if i in df.index]
    if not index and not r.unexpected_count:
        r.observation = _table_sentence(e, r)
        return r
    failing = df.loc[index]
    scope = _scope(df, kw)
    try:
        r.observation = _rows_sentence(e, failing, scope, noun)
    except Exception as exc:  # an observation must never fail a check
        r.observation = f"{r.failing_rows} failing {noun} ({type(exc).__name__} describing them)"
    entity = e.entity
    if entity and entity in failing.columns and entity in scope.columns:
        out: dict[str, str] = {}
        for ent, rows in failing.groupby(failing[entity].astype(str), sort=True):
            if len(out) >= MAX_ENTITY_OBSERVATIONS:
                break
            try:
                out[ent] = _rows_sentence(e, rows, scope.loc[scope[entity].astype(str) == ent], noun)
            except Exception as exc:
                out[ent] = f"{len(rows)} failing {noun} ({type(exc).__name__} describing them)"
        r.entity_observations = out
    return r
