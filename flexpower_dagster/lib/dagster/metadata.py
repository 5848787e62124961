"""Asset metadata shared by every warehouse table: declared column schema, table name, partition column,
and numbers that plot (:func:`quantities`: unit in the label, rounded, shares in %)."""

from __future__ import annotations

import math
import numbers
from datetime import date

import dagster as dg
import pandas as pd

from flexpower_dagster.lib.markdown import md_table
from flexpower_dagster.lib.tables import TableSpec

#: Dagster's key for the table an asset is stored in: ``schema.table`` as declared (never a file path).
TABLE_NAME_KEY = "dagster/table_name"


def column_schema(table: TableSpec) -> dg.TableSchema:
    """The table's declared columns; key and non-nullable columns are declared NOT NULL, the key as a
    table constraint."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type,
                description=c.description or None,
                constraints=dg.TableColumnConstraints(nullable=c.nullable and c.name not in table.key),
            )
            for c in table.columns
        ],
        constraints=dg.TableConstraints(other=[f"key ({', '.join(table.key)}): not null, unique"]),
    )


def table_metadata(table: TableSpec) -> dict:
    """Definition metadata of an asset stored as ``table``: columns, ``schema.table``, partition column."""
    md: dict = {"dagster/column_schema": column_schema(table), TABLE_NAME_KEY: table.qualified_name}
    if table.partition_column:
        md["partition_expr"] = table.partition_column
    return md


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The delivery days (or months) of the run: one, or a range in a single-run backfill."""
    if context.has_partition_key_range:
        return [date.fromisoformat(k) for k in context.partition_keys]
    return [date.fromisoformat(context.partition_key)]


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def md(df: pd.DataFrame | None, **kwargs) -> dg.MetadataValue:
    """A frame as markdown metadata (see :func:`flexpower_dagster.lib.markdown.md_table`)."""
    return dg.MetadataValue.md(md_table(df, **kwargs))


# --------------------------------------------------------------------------------------------
# numbers that plot

#: Unit words at the start or end of a metadata key -> (unit shown in the label, decimals kept).
_UNITS: tuple[tuple[tuple[str, ...], str, int], ...] = (
    (("eur", "per", "mwh"), "EUR/MWh", 2),
    (("mwh",), "MWh", 3),
    (("mw",), "MW", 3),
    (("eur",), "EUR", 2),
    (("percent",), "%", 1),
    (("seconds",), "s", 1),
    (("mib",), "MiB", 1),
    (("mb",), "MB", 1),
)
_WORDS = {"qhs": "QHs", "qh": "QH", "vwap": "VWAP", "dso": "DSO", "crm": "CRM", "rss": "RSS", "gx": "GX"}


def _label(words: list[str], unit: str) -> str:
    text = " ".join(_WORDS.get(w, w) for w in words) or "total"
    return f"{text} ({unit})"


def quantity(key: str, value) -> tuple[str, int | float | None] | None:
    """``(label, value)`` of a numeric metadata entry: the unit of the key in the label (``cost_eur`` ->
    ``cost (EUR)``, ``share_final`` -> ``share final (%)`` with the fraction as a percentage, an integer
    without a unit -> ``... (count)``), rounded to what the unit needs. The label depends on the key only
    where the value may be unknown (None): a unit suffix, or ``n_`` for a count. None: not a number to plot
    (text, tables, Dagster's own ``dagster/...`` entries)."""
    if "/" in key or isinstance(value, bool):
        return None
    if isinstance(value, (dg.IntMetadataValue, dg.FloatMetadataValue)):
        value = value.value
    if value is not None and not isinstance(value, numbers.Real):
        return None
    words = key.lower().split("_")
    counted = words[0] == "n" and len(words) > 1  # n_<things>: a count, even when unknown (None)
    if counted:
        words = words[1:]
    if words[-1] == "count" and len(words) > 1:
        words = words[:-1]
    is_float = isinstance(value, float) or (value is not None and not isinstance(value, numbers.Integral))
    if value is not None and is_float and math.isnan(float(value)):
        value = None
    if "share" in words:
        return _label(words, "%"), None if value is None else round(100.0 * float(value), 1)
    for tokens, unit, decimals in _UNITS:
        n = len(tokens)
        for rest in (words[:-n] if tuple(words[-n:]) == tokens else None, words[n:] if tuple(words[:n]) == tokens else None):
            if rest is not None:
                if value is None:
                    return _label(rest, unit), None
                return _label(rest, unit), round(float(value), decimals)
    if value is None:
        return (_label(words, "count"), None) if counted else None
    if is_float:
        return _label(words, "value"), round(float(value), 3)
    return _label(words, "count"), int(value)


def quantities(md: dict) -> dict:
    """``md`` with every numeric entry labelled with its unit and rounded (:func:`quantity`), so the asset's
    Plots tab shows each quantity per partition under a readable name; other entries unchanged."""
    out: dict = {}
    for key, value in md.items():
        q = quantity(key, value)
        if q is None or q[0] in md or q[0] in out:  # never overwrite another entry
            out[key] = value
        else:
            label, number = q
            out[label] = number if number is not None else dg.MetadataValue.null()
    return out
