"""The trading desk's data file: the open days' position, written atomically into the published report site.

The desk page of the report site (``reports/pages/desk.md``, component ``reports/components/DeskPosition.svelte``)
reads one small JSON file, :data:`DESK_FILE` inside the built site, and re-reads it every few seconds. The position
asset rewrites that file right after it has written ``marts.position_qh`` (and ``report_site`` writes it into every
new build), so the page follows the landing zone without a site rebuild (docs/reports.md, "Trading desk").

Pure module (no Dagster): :func:`desk_payload` reads the warehouse through a DuckDB connection and returns the
payload; :func:`write_desk_file` writes it (temporary file in the same folder, then ``os.replace``: a reader gets
the old file or the new one, never half of one).

The open days are the newest :data:`DESK_DAYS` delivery days that have a position: while day D is traded, the
forecasts reach 48 h ahead, so these are D, D+1 and D+2 (after the demo or a replay: the last traded day and the
days after it). The page opens on :func:`focus_day`: the newest of them with private trades, else the first.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from flexpower_dagster.defs.exchange.tables import EXCHANGE_PUBLIC_TRADES
from flexpower_dagster.defs.imbalance_prices.tables import IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL
from flexpower_dagster.defs.position.sql import EXPORT_TIME_SQL
from flexpower_dagster.defs.position.tables import PORTFOLIO_SCOPE, POSITION_QH
from flexpower_dagster.defs.trading.tables import TRADING_DAILY
from flexpower_dagster.lib.warehouse import table_exists

#: Every table :func:`desk_payload` reads: an audience's site gets the desk page only when the policy grants it all of
#: them with every column (defs/permissions/sites.py; tests/permissions/test_sites.py keeps this list complete).
DESK_TABLES = (POSITION_QH, EXCHANGE_PUBLIC_TRADES, IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL, TRADING_DAILY)
#: Where the desk page reads its data, relative to the built site (served as ``/live/desk_position.json``).
DESK_FILE = "live/desk_position.json"
#: How many of the newest delivery days with a position the file holds.
DESK_DAYS = 3
#: Bumped when the file's layout changes (the page refuses a file it does not know).
FORMAT = 1

#: Per QH and scope: the columns of ``marts.position_qh`` the page shows, and their decimals in the file.
QH_COLUMNS: dict[str, int] = {
    "latest_forecast_mwh": 3,
    "tradeable_forecast_mwh": 3,
    "net_sold_mwh": 3,
    "open_position_mwh": 3,
    "market_vwap_eur_per_mwh": 2,
    "open_position_value_eur": 2,
    "realised_revenue_eur": 2,
    "realised_vwap_eur_per_mwh": 2,
    "imbalance_price_eur_per_mwh": 2,
    "expected_imbalance_cost_eur": 2,
}
QH_TEXT_COLUMNS = ("imbalance_price_source", "reason")
#: Day totals per scope (sums of the known QH values; ``qhs_open_unknown`` counts the QHs without a position).
SUMMED = ("latest_forecast_mwh", "net_sold_mwh", "open_position_mwh", "open_position_value_eur",
          "realised_revenue_eur", "expected_imbalance_cost_eur")


def _iso(value) -> str | None:
    """A naive UTC instant as ISO with ``Z`` (the browser reads it as UTC); None stays None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value, decimals: int) -> float | None:
    if value is None or pd.isna(value):
        return None
    out = round(float(value), decimals)
    return 0.0 if out == 0 else out  # never -0.0 (shown as "-0")


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def open_days(conn: duckdb.DuckDBPyConnection, n: int = DESK_DAYS) -> list[date]:
    """The newest ``n`` delivery days of ``marts.position_qh``, oldest first (none when the table is absent)."""
    if not table_exists(conn, POSITION_QH.qualified_name):
        return []
    rows = conn.execute(
        f"SELECT DISTINCT delivery_day FROM {POSITION_QH.qualified_name} ORDER BY delivery_day DESC LIMIT ?", [n]
    ).fetchall()
    return sorted(pd.Timestamp(r[0]).date() for r in rows)


def _source_times(conn: duckdb.DuckDBPyConnection, days: list[date]) -> dict[date, dict[str, str | None]]:
    """Per day: the newest forecast version and private-trades export behind the position, the newest public-trades
    export (market VWAP) and the newest imbalance price estimate and final price publication covering the day."""
    out: dict[date, dict[str, str | None]] = {d: {} for d in days}
    queries = {
        "forecast": (POSITION_QH.qualified_name, "max(forecast_version)"),
        "private_trades": (POSITION_QH.qualified_name, "max(trades_exported_at)"),
        "public_trades": (EXCHANGE_PUBLIC_TRADES.qualified_name, f"max({EXPORT_TIME_SQL})"),
        "imbalance_estimate": (IMBALANCE_PRICE_ESTIMATES.qualified_name, "max(published_at)"),
        "imbalance_final": (IMBALANCE_PRICE_FINAL.qualified_name, "max(published_at)"),
    }
    for name, (table, expr) in queries.items():
        found = {}
        if table_exists(conn, table):
            found = {
                pd.Timestamp(d).date(): t
                for d, t in conn.execute(
                    f"SELECT delivery_day, {expr} FROM {table} WHERE delivery_day IN (SELECT unnest(?)) GROUP BY 1",
                    [days],
                ).fetchall()
            }
        for d in days:
            out[d][name] = _iso(found.get(d))
    return out


def _day_vwaps(conn: duckdb.DuckDBPyConnection, days: list[date]) -> dict[date, dict[str, float | None]]:
    """The day's realised (private) and market VWAP so far (``marts.trading_daily``) and their difference."""
    out = {d: {"realised_vwap_eur_per_mwh": None, "market_vwap_eur_per_mwh": None, "vwap_spread_eur_per_mwh": None}
           for d in days}
    if not table_exists(conn, TRADING_DAILY.qualified_name):
        return out
    for d, vwap, market in conn.execute(
        f"SELECT delivery_day, vwap_eur_per_mwh, market_vwap_eur_per_mwh FROM {TRADING_DAILY.qualified_name} "
        "WHERE delivery_day IN (SELECT unnest(?))",
        [days],
    ).fetchall():
        spread = None if vwap is None or market is None else vwap - market
        out[pd.Timestamp(d).date()] = {"realised_vwap_eur_per_mwh": _num(vwap, 2), "market_vwap_eur_per_mwh": _num(market, 2),
                                       "vwap_spread_eur_per_mwh": _num(spread, 2)}
    return out


def _scope_block(rows: pd.DataFrame) -> dict:
    """One scope of one day: the QH columns as arrays (QH order) and the day's totals."""
    rows = rows.sort_values("delivery_start")
    qh: dict[str, list] = {"delivery_start": [_iso(t) for t in rows["delivery_start"]]}
    for col, decimals in QH_COLUMNS.items():
        qh[col] = [_num(v, decimals) for v in rows[col]]
    for col in QH_TEXT_COLUMNS:
        qh[col] = [_text(v) for v in rows[col]]
    totals: dict[str, float | int | None] = {
        col: (_num(rows[col].sum(), QH_COLUMNS[col]) if rows[col].notna().any() else None) for col in SUMMED
    }
    totals["qhs"] = len(rows)
    totals["qhs_open_unknown"] = int(rows["open_position_mwh"].isna().sum())
    totals["qhs_with_trades"] = int(rows["net_sold_mwh"].fillna(0).ne(0).sum())
    return {"qh": qh, "totals": totals}


def focus_day(days: dict[str, dict]) -> str | None:
    """The day the page opens on: the newest open day with private trades, else the first open day."""
    traded = [d for d, block in days.items() if block["sources"].get("private_trades")]
    return traded[-1] if traded else next(iter(days), None)


def desk_payload(conn: duckdb.DuckDBPyConnection, generated_at: datetime, n_days: int = DESK_DAYS) -> dict:
    """The desk file's content: per open day, per scope (portfolio first, then the technologies) the position per QH
    and its day totals, the day's realised and market VWAP so far, and the time of the newest input per source.
    ``generated_at`` (naive UTC) is when the file is written: the page shows its data's age from it."""
    days = open_days(conn, n_days)
    out_days: dict[str, dict] = {}
    if days:
        cols = ["delivery_day", "scope", "delivery_start", *QH_COLUMNS, *QH_TEXT_COLUMNS, "as_of"]
        frame = conn.execute(
            f"SELECT {', '.join(cols)} FROM {POSITION_QH.qualified_name} WHERE delivery_day IN (SELECT unnest(?)) "
            "ORDER BY delivery_day, scope, delivery_start",
            [days],
        ).fetchdf()
        frame["delivery_day"] = pd.to_datetime(frame["delivery_day"]).dt.date
        sources, vwaps = _source_times(conn, days), _day_vwaps(conn, days)
        for d in days:
            rows = frame[frame["delivery_day"] == d]
            scopes = sorted(rows["scope"].unique(), key=lambda s: (s != PORTFOLIO_SCOPE, s))
            out_days[d.isoformat()] = {
                "as_of": _iso(rows["as_of"].max()),
                "sources": sources[d],
                **vwaps[d],
                "scopes": {s: _scope_block(rows[rows["scope"] == s]) for s in scopes},
            }
    return {
        "format": FORMAT,
        "generated_at": _iso(generated_at),
        "days": list(out_days),
        "focus_day": focus_day(out_days),
        "by_day": out_days,
    }


def _finite(obj):
    """JSON has no NaN/inf: any that slipped through becomes null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def write_desk_file(payload: dict, site_dir: str | Path) -> Path:
    """Write ``payload`` to ``<site_dir>/`` :data:`DESK_FILE` atomically (temporary file beside it, then
    ``os.replace``); returns the path."""
    target = Path(site_dir) / DESK_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(_finite(payload), separators=(",", ":"), allow_nan=False), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
