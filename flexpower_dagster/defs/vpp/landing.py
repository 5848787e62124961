"""The virtual power plant (VPP) as a landing source: technical-data snapshots, forecast versions and live
samples -> ``staging.vpp_technical_data`` / ``vpp_forecasts`` / ``vpp_live_samples``."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.vpp.expectations import VPP_FORECASTS_SUITE, VPP_LIVE_SAMPLES_SUITE, VPP_TECHNICAL_DATA_SUITE
from flexpower_dagster.defs.vpp.sources import VPP_FORECASTS_SOURCE, VPP_LIVE_SAMPLES_SOURCE, VPP_TECHNICAL_DATA_SOURCE
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.dagster.staging import StagingSource


def summarize_technical_data(frame: pd.DataFrame) -> dict:
    by_tech = frame.groupby("technology", dropna=False)["capacity_mw"].sum()
    return {
        "snapshot_file": str(frame["source_file"].iloc[0]),
        "assets": int(frame["asset_id"].nunique()),
        "capacity_mw": float(round(frame["capacity_mw"].sum(), 3)),
        "capacity_mw_by_technology": dg.MetadataValue.json({str(k): round(float(v), 3) for k, v in by_tech.items()}),
    }


def summarize_forecasts(frame: pd.DataFrame) -> dict:
    """Versions and QHs per asset, and the day-ahead energy: per asset the newest version issued
    before the day began (falling back to the oldest version available), summed over its QHs."""
    day_start = pd.Timestamp(frame["delivery_day"].iloc[0])
    version = pd.to_datetime(frame["version"])
    before = frame.loc[version <= day_start]
    base = before if len(before) else frame
    pick = base.groupby("asset_id")["version"].transform("max") if len(before) else base.groupby("asset_id")["version"].transform("min")
    chosen = base.loc[base["version"].eq(pick)]
    per_asset = frame.groupby("asset_id").agg(versions=("version", "nunique"), qhs=("delivery_start", "nunique"))
    per_asset["day_ahead_mwh"] = (chosen.groupby("asset_id")["mw"].sum() * 0.25).round(3)
    return {
        "assets": int(frame["asset_id"].nunique()),
        "versions": int(frame[["asset_id", "version"]].drop_duplicates().shape[0]),
        "newest_version": str(version.max()),
        "day_ahead_mwh": float(round(chosen["mw"].sum() * 0.25, 3)),
        "per_asset": md(per_asset.reset_index()),
    }


def summarize_live(frame: pd.DataFrame) -> dict:
    """Samples per asset, time range, the largest gap between samples and the approximate energy
    (mean power x hours covered by the samples)."""
    f = frame.sort_values(["asset_id", "timestamp"])
    ts = pd.to_datetime(f["timestamp"])
    gap_min = ts.groupby(f["asset_id"]).diff().dt.total_seconds().div(60)
    per_asset = f.assign(gap_min=gap_min).groupby("asset_id").agg(
        samples=("timestamp", "size"),
        first=("timestamp", "min"),
        last=("timestamp", "max"),
        max_gap_min=("gap_min", "max"),
        mean_mw=("mw", "mean"),
        negative_samples=("mw", lambda s: int((s < 0).sum())),
    )
    hours = (pd.to_datetime(per_asset["last"]) - pd.to_datetime(per_asset["first"])).dt.total_seconds().div(3600)
    per_asset["approx_mwh"] = (per_asset["mean_mw"] * hours).round(3)
    per_asset["mean_mw"] = per_asset["mean_mw"].round(4)
    return {
        "assets": int(f["asset_id"].nunique()),
        "samples": len(f),
        "negative_samples": int((f["mw"] < 0).sum()),
        "approx_mwh": float(round(per_asset["approx_mwh"].sum(), 3)),
        "per_asset": md(per_asset.reset_index()),
    }


VPP_TECHNICAL_DATA = StagingSource(VPP_TECHNICAL_DATA_SOURCE, suite=VPP_TECHNICAL_DATA_SUITE, summarize=summarize_technical_data)
VPP_FORECASTS = StagingSource(VPP_FORECASTS_SOURCE, suite=VPP_FORECASTS_SUITE, summarize=summarize_forecasts)
VPP_LIVE_SAMPLES = StagingSource(VPP_LIVE_SAMPLES_SOURCE, suite=VPP_LIVE_SAMPLES_SUITE, summarize=summarize_live)


@dg.component_instance
def vpp(context: dg.ComponentLoadContext) -> LandingSource:
    return LandingSource(system="vpp", sources=(VPP_TECHNICAL_DATA, VPP_FORECASTS, VPP_LIVE_SAMPLES))
