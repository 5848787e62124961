"""Dagster wiring of the position mart (logic in :mod:`flexpower_dagster.defs.position.sql`) and its checks."""

import time
from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import pandas as pd

from flexpower_dagster.defs.position.desk import desk_payload, write_desk_file
from flexpower_dagster.defs.position.expectations import POSITION_QH_SUITE
from flexpower_dagster.defs.position.sql import POSITION_QH_SQL
from flexpower_dagster.defs.position.tables import PORTFOLIO_SCOPE, POSITION_QH
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.marts import daily_sql_mart
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.dagster.resources import ReportSite
from flexpower_dagster.lib.markdown import rounded
from flexpower_dagster.lib.paths import site_lock

#: The desk's fast-path target: a landing sensor's run carries the marts between its staging assets and this one
#: (lib/dagster/fast_path.py), so a forecast version or a trade export reaches the position in one run.
POSITION_KEY = dg.AssetKey(["marts", "position_qh"])

INPUTS = [
    ["marts", "asset_forecast"],
    ["marts", "portfolio_forecast"],
    ["marts", "trading_qh"],
    ["marts", "trading_daily"],  # not in the statement: the desk data file written after it reads the day's VWAPs
    ["staging", "crm_contracts"],
    ["staging", "exchange_private_trades"],
    ["staging", "imbalance_price_final"],
    ["staging", "imbalance_price_estimates"],
]

_SUMS = ("latest_forecast_mwh", "net_sold_mwh", "open_position_mwh", "open_position_value_eur", "realised_revenue_eur",
         "expected_imbalance_cost_eur")


def _sum(s: pd.Series, n: int = 3) -> float | None:
    """Sum of the known values; None when none is known (metadata says unknown, never 0)."""
    return rounded(s.sum(), n) if s.notna().any() else None


def summarize_position_qh(out: pd.DataFrame) -> dict:
    p = out.loc[out["scope"] == PORTFOLIO_SCOPE]
    per_scope = (
        out.groupby("scope")
        .agg(**{c: (c, lambda s: _sum(s)) for c in _SUMS},
             qhs_open_unknown=("open_position_mwh", lambda s: int(s.isna().sum())))
        .reset_index()
    )
    as_of = out["as_of"].max()
    return {
        "latest_forecast_mwh": _sum(p["latest_forecast_mwh"]),
        "net_sold_mwh": _sum(p["net_sold_mwh"]),
        "open_position_mwh": _sum(p["open_position_mwh"]),
        "open_position_value_eur": _sum(p["open_position_value_eur"], 2),
        "realised_revenue_eur": _sum(p["realised_revenue_eur"], 2),
        "expected_imbalance_cost_eur": _sum(p["expected_imbalance_cost_eur"], 2),
        "qhs_open_position_unknown": int(p["open_position_mwh"].isna().sum()),
        "qhs_priced_with_estimates": int((p["imbalance_price_source"] == "estimate").sum()),
        "as_of": None if pd.isna(as_of) else str(as_of),
        "per_scope": md(per_scope),
    }


def refresh_desk_file(conn: duckdb.DuckDBPyConnection, days: list[date], site: ReportSite, log: dg.DagsterLogManager) -> dict:
    """After the position is written: rewrite the desk page's data file in the published site (no site yet: none),
    and in every audience site that has the desk page (its audience is granted every table the file carries, in full:
    defs/permissions/sites.py, so the warehouse's payload is the audience's)."""
    if site.path is None or not (site.path.is_dir() or site.path.parent.is_dir()):
        log.info(f"no published report site at {site.path}: desk data file not written (report_site writes it)")
        return {}
    started = time.monotonic()
    payload = desk_payload(conn, datetime.now(UTC).replace(tzinfo=None))
    # under each site's lock: a site build publishing from the other lane swaps the tree only between two writes
    # and keeps this file when it is newer than the build's (reporting/site.publish_build)
    written = {}
    for folder in [site.path, *site.audience_sites("desk")]:
        with site_lock(folder):
            if folder.is_dir():
                written[folder] = write_desk_file(payload, folder)
    path = written.pop(site.path, None)
    if path is None:  # checked under the lock: a publish swapping the tree is never mistaken for "no site"
        log.info(f"no published report site at {site.path}: desk data file not written (report_site writes it)")
        return {}
    audience_files = list(written.values())
    return {
        "desk_file": dg.MetadataValue.path(str(path)),
        "desk_audience_files": dg.MetadataValue.json([str(p) for p in audience_files]),
        "desk_written_at": dg.MetadataValue.timestamp(time.time()),  # the latency benchmark reads it
        "desk_days": dg.MetadataValue.json(payload["days"]),
        "desk_write_seconds": round(time.monotonic() - started, 3),
    }


marts_position_qh = daily_sql_mart(
    POSITION_QH,
    POSITION_QH_SQL,
    deps=INPUTS,
    group_name="marts_position",
    description=(
        "The trading desk's open position per scope (portfolio, solar, wind) and QH: open_position_mwh = latest forecast "
        "- net sold (> 0 still to sell, < 0 to buy back), valued at the market VWAP; realised revenue and VWAP vs market; "
        "expected_imbalance_cost_eur = -open_position_mwh * imbalance price (positive = FlexPower pays); as_of = newest input."
    ),
    summarize=summarize_position_qh,
    after=refresh_desk_file,
)

position_qh_checks = build_suite_checks(POSITION_QH_SUITE)
