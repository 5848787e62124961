"""Small markdown tables for materialisation and check metadata (pure: pandas only)."""

from __future__ import annotations

import pandas as pd


def md_escape(value) -> str:
    """A cell's text: pipes escaped, line breaks flattened."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(df: pd.DataFrame | None, max_rows: int = 60, floatfmt: str = "{:,.3f}", index: bool = False) -> str:
    """A markdown table of ``df`` (at most ``max_rows`` rows; ``index`` includes the index as columns)."""
    if df is None or len(df) == 0:
        return "_no rows_"
    frame = df.reset_index() if index else df
    shown = frame.head(max_rows)

    def fmt(v) -> str:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
            return ""
        if isinstance(v, float):
            return floatfmt.format(v)
        return md_escape(v)

    header = "| " + " | ".join(md_escape(c) for c in shown.columns) + " |"
    sep = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = shown.astype(object).map(fmt).apply(lambda r: "| " + " | ".join(r) + " |", axis=1)
    text = "\n".join([header, sep, *body.tolist()])
    if len(frame) > max_rows:
        text += f"\n\n… and {len(frame) - max_rows} more rows"
    return text


def rounded(x, n: int = 3) -> float | None:
    """``x`` as a float rounded to ``n`` decimals; None for NULL/NaN (metadata must not show NaN)."""
    return None if x is None or pd.isna(x) else round(float(x), n)
