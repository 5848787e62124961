"""Shared pure helpers of the daily marts (no Dagster import).

* :func:`run_sql` runs one DuckDB query over pandas frames on a private in-memory connection. Each
  input frame is exposed as a view *typed by its TableSpec*: missing declared columns are NULL of the
  declared type and every column is cast, so hand-made test frames with a few columns and empty
  partitions behave exactly like warehouse partitions.
* :data:`PORTFOLIO_CTE` / :func:`portfolio` — the portfolio of a delivery day: the assets of the
  contracts in force (``crm.rules.in_force`` on the staged CRM snapshot of that day).
* :func:`md_table` — a small markdown table for materialisation metadata.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from flexpower_dagster.core.tables import TableSpec

QH = timedelta(minutes=15)
QHS_PER_DAY = 96


def day_window(day: date) -> tuple[datetime, datetime]:
    """``[D 00:00, D+1 00:00)`` as naive UTC datetimes."""
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


def _typed_view_sql(view: str, raw: str, spec: TableSpec, present: set[str]) -> str:
    cols = []
    for c in spec.columns:
        if c.name in present:
            cols.append(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"')
        else:
            cols.append(f'CAST(NULL AS {c.type}) AS "{c.name}"')
    return f"CREATE TEMP VIEW {view} AS SELECT {', '.join(cols)} FROM {raw}"


def run_sql(
    sql: str,
    inputs: dict[str, tuple[TableSpec, pd.DataFrame]],
    params: dict | None = None,
) -> pd.DataFrame:
    """Run ``sql`` on a fresh in-memory DuckDB where each ``inputs[name]`` is a typed view ``name``."""
    con = duckdb.connect()
    try:
        for name, (spec, frame) in inputs.items():
            frame = frame if frame is not None else spec.empty_frame()
            raw = f"__raw_{name}"
            if len(frame.columns) == 0:
                frame = spec.empty_frame()
            con.register(raw, frame)
            con.execute(_typed_view_sql(name, raw, spec, set(frame.columns)))
        return con.execute(sql, params or {}).fetchdf()
    finally:
        con.close()


def in_force_contracts(contracts: pd.DataFrame, day: date) -> pd.DataFrame:
    """The staged contract rows in force on ``day`` (the CRM domain's rule, one definition).

    The rows are first typed like a warehouse read of ``staging.crm_contracts`` (every declared
    column, DuckDB types), so hand-made frames and empty partitions behave like real ones.
    """
    from flexpower_dagster.defs.crm.rules import in_force
    from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS

    typed = run_sql("SELECT * FROM contracts", {"contracts": (CRM_CONTRACTS, contracts)})
    return in_force(typed, day)


#: Portfolio of the day, one row per asset (expects a view ``in_force`` of in-force contracts).
#: Two contracts in force for one asset (a CRM error) still give one portfolio row; ``n_contracts``
#: tells.
PORTFOLIO_CTE = """
portfolio AS (
    SELECT asset_id,
           min(contract_id) AS contract_id,
           min(metering_point_id) AS metering_point_id,
           count(*) AS n_contracts
    FROM in_force
    WHERE asset_id IS NOT NULL
    GROUP BY asset_id
),
qh_grid AS (
    SELECT g.delivery_start, g.delivery_start + INTERVAL 15 MINUTE AS delivery_end
    FROM range(CAST($day_start AS TIMESTAMP), CAST($day_end AS TIMESTAMP), INTERVAL 15 MINUTE) AS g(delivery_start)
),
asset_grid AS (
    SELECT p.asset_id, p.contract_id, p.metering_point_id, q.delivery_start, q.delivery_end
    FROM portfolio p CROSS JOIN qh_grid q
)"""


def day_params(day: date) -> dict:
    start, end = day_window(day)
    return {"day": day, "day_start": start, "day_end": end}


def md_table(df: pd.DataFrame, max_rows: int = 60, floatfmt: str = "{:,.3f}") -> str:
    """A markdown table of ``df`` (at most ``max_rows`` rows) for Dagster metadata."""
    if df is None or len(df) == 0:
        return "_no rows_"
    shown = df.head(max_rows)

    def fmt(v) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, float):
            return floatfmt.format(v)
        return str(v)

    header = "| " + " | ".join(str(c) for c in shown.columns) + " |"
    sep = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = shown.astype(object).map(fmt).apply(lambda r: "| " + " | ".join(r) + " |", axis=1)
    text = "\n".join([header, sep, *body.tolist()])
    if len(df) > max_rows:
        text += f"\n\n… and {len(df) - max_rows} more rows"
    return text
