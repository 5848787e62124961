"""The virtual power plant (VPP) as a landing source: technical-data snapshots, forecast versions and live
samples -> ``staging.vpp_technical_data`` / ``vpp_forecasts`` / ``vpp_live_samples``."""

from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from flexpower_dagster.defs.vpp.expectations import VPP_FORECASTS_SUITE, VPP_LIVE_SAMPLES_SUITE, VPP_TECHNICAL_DATA_SUITE
from flexpower_dagster.defs.vpp.sources import VPP_FORECASTS_SOURCE, VPP_LIVE_SAMPLES_SOURCE, VPP_TECHNICAL_DATA_SOURCE
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.dagster.sensors import TRADING_FEED_INTERVAL_SECONDS
from flexpower_dagster.lib.dagster.staging import StagingSource, from_frame


def summarize_technical_data(frame: pd.DataFrame) -> dict:
    by_tech = frame.groupby("technology", dropna=False)["capacity_mw"].sum()
    return {
        "snapshot_file": str(frame["source_file"].iloc[0]),
        "assets": int(frame["asset_id"].nunique()),
        "capacity_mw": float(round(frame["capacity_mw"].sum(), 3)),
        "capacity_mw_by_technology": dg.MetadataValue.json({str(k): round(float(v), 3) for k, v in by_tech.items()}),
    }


def summarize_forecasts(conn: duckdb.DuckDBPyConnection, days: list[date]) -> dict:
    """Versions and QHs per asset, and the day-ahead energy: per asset and day the newest version issued
    before the day began (falling back to the oldest version available), summed over its QHs. In SQL:
    a 1,000-asset day holds ~14 million rows."""
    per_asset = conn.execute(
        """
        WITH f AS (SELECT * FROM staging.vpp_forecasts WHERE delivery_day IN (SELECT unnest($days))),
        pick AS (
            SELECT delivery_day, asset_id,
                   coalesce(max(version) FILTER (WHERE version <= delivery_day), min(version)) AS version
            FROM f GROUP BY ALL
        ),
        day_ahead AS (SELECT f.asset_id, sum(f.mw) * 0.25 AS mwh FROM f JOIN pick USING (delivery_day, asset_id, version) GROUP BY ALL)
        SELECT asset_id, count(DISTINCT version) AS versions, count(DISTINCT delivery_start) AS qhs,
               round(any_value(d.mwh), 3) AS day_ahead_mwh, max(version) AS newest_version
        FROM f LEFT JOIN day_ahead d USING (asset_id) GROUP BY asset_id ORDER BY asset_id
        """,
        {"days": days},
    ).fetchdf()
    if not len(per_asset):
        return {}
    return {
        "assets": len(per_asset),
        "versions": int(per_asset["versions"].sum()),
        "newest_version": str(per_asset["newest_version"].max()),
        "day_ahead_mwh": float(round(per_asset["day_ahead_mwh"].sum(), 3)),
        "per_asset": md(per_asset.drop(columns="newest_version")),
    }


def summarize_live(conn: duckdb.DuckDBPyConnection, days: list[date]) -> dict:
    """Samples per asset, time range, the largest gap between samples and the approximate energy
    (mean power x hours covered by the samples). In SQL."""
    per_asset = conn.execute(
        """
        WITH f AS (
            SELECT asset_id, "timestamp", mw,
                   date_diff('second', lag("timestamp") OVER (PARTITION BY asset_id ORDER BY "timestamp"), "timestamp") / 60.0 AS gap_min
            FROM staging.vpp_live_samples WHERE delivery_day IN (SELECT unnest($days))
        )
        SELECT asset_id, count(*) AS samples, min("timestamp") AS first, max("timestamp") AS last,
               max(gap_min) AS max_gap_min, round(avg(mw), 4) AS mean_mw, count(*) FILTER (WHERE mw < 0) AS negative_samples,
               round(avg(mw) * date_diff('second', min("timestamp"), max("timestamp")) / 3600.0, 3) AS approx_mwh
        FROM f GROUP BY asset_id ORDER BY asset_id
        """,
        {"days": days},
    ).fetchdf()
    if not len(per_asset):
        return {}
    return {
        "assets": len(per_asset),
        "samples": int(per_asset["samples"].sum()),
        "negative_samples": int(per_asset["negative_samples"].sum()),
        "approx_mwh": float(round(per_asset["approx_mwh"].sum(), 3)),
        "per_asset": md(per_asset),
    }


VPP_TECHNICAL_DATA = StagingSource(
    VPP_TECHNICAL_DATA_SOURCE, suite=VPP_TECHNICAL_DATA_SUITE, summarize=from_frame(summarize_technical_data, VPP_TECHNICAL_DATA_SOURCE.table)
)
VPP_FORECASTS = StagingSource(VPP_FORECASTS_SOURCE, suite=VPP_FORECASTS_SUITE, summarize=summarize_forecasts)
VPP_LIVE_SAMPLES = StagingSource(VPP_LIVE_SAMPLES_SOURCE, suite=VPP_LIVE_SAMPLES_SUITE, summarize=summarize_live)


@dg.component_instance
def vpp(context: dg.ComponentLoadContext) -> LandingSource:
    return LandingSource(
        system="vpp", sources=(VPP_TECHNICAL_DATA, VPP_FORECASTS, VPP_LIVE_SAMPLES), sensor_interval_seconds=TRADING_FEED_INTERVAL_SECONDS,
        desk_feed=True,
    )
