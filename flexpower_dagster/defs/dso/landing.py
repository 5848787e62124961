"""The grid operator (DSO) as a landing source: final production, redispatch flags and redispatch compensation.

Final production and flags map the metering point to the asset through the day's CRM contract
snapshot (``staging/crm_contracts`` of the same delivery day); a file whose metering point has no
contract is rejected (rule ``unknown-metering-point``) without stopping the other files.
"""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.dso import sources
from flexpower_dagster.defs.dso.expectations import (
    DSO_FINAL_PRODUCTION_SUITE,
    DSO_REDISPATCH_COMPENSATION_SUITE,
    DSO_REDISPATCH_FLAGS_SUITE,
)
from flexpower_dagster.defs.dso.metering import metering_point_validator
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.dagster.staging import StagingSource

#: The validation of metering points reads the day's CRM snapshot.
WITH_CONTRACTS = {"crm_contracts": dg.AssetKey(["staging", "crm_contracts"])}


def qh_summary(frame: pd.DataFrame) -> dict:
    n = frame["delivery_start"].nunique()
    return {"qhs_covered": int(n), "qhs_missing": int(96 - n)}


def summarize_final_production(frame: pd.DataFrame) -> dict:
    per_asset = frame.groupby(["asset_id", "metering_point_id"]).agg(
        mwh=("mwh", "sum"), max_mw=("mw", "max"), qhs=("delivery_start", "nunique")
    )
    return {
        "total_mwh": float(frame["mwh"].sum()),
        "n_assets": int(frame["asset_id"].nunique()),
        "min_qhs_per_asset": int(per_asset["qhs"].min()),
        "mwh_per_asset": md(per_asset, index=True),
    }


def summarize_redispatch_flags(frame: pd.DataFrame) -> dict:
    flagged = frame.loc[frame["is_redispatched"].fillna(False).astype(bool)]
    per_asset = flagged.groupby("asset_id").agg(
        redispatched_qhs=("delivery_start", "nunique"), first=("delivery_start", "min"), last_end=("delivery_end", "max")
    )
    out = {"redispatched_qhs": len(flagged), "assets_redispatched": int(flagged["asset_id"].nunique())}
    if len(per_asset):
        out["redispatch_per_asset"] = md(per_asset, index=True)
    return out


def summarize_compensation(frame: pd.DataFrame) -> dict:
    p = frame["price_eur_per_mwh"]
    return {
        **qh_summary(frame),
        "mean_price_eur_per_mwh": float(p.mean()),
        "min_price_eur_per_mwh": float(p.min()),
        "max_price_eur_per_mwh": float(p.max()),
    }


DSO_FINAL_PRODUCTION = StagingSource(
    sources.FINAL_PRODUCTION,
    suite=DSO_FINAL_PRODUCTION_SUITE,
    summarize=summarize_final_production,
    validated_with=WITH_CONTRACTS,
    make_validator=metering_point_validator(header_row=1),  # the metering point is in the header (line 1)
)
DSO_REDISPATCH_FLAGS = StagingSource(
    sources.REDISPATCH_FLAGS,
    suite=DSO_REDISPATCH_FLAGS_SUITE,
    summarize=summarize_redispatch_flags,
    validated_with=WITH_CONTRACTS,
    make_validator=metering_point_validator(header_row=None),  # the metering point is in the file name
)
DSO_REDISPATCH_COMPENSATION = StagingSource(
    sources.REDISPATCH_COMPENSATION, suite=DSO_REDISPATCH_COMPENSATION_SUITE, summarize=summarize_compensation
)


@dg.component_instance
def dso(context: dg.ComponentLoadContext) -> LandingSource:
    return LandingSource(system="dso", sources=(DSO_FINAL_PRODUCTION, DSO_REDISPATCH_FLAGS, DSO_REDISPATCH_COMPENSATION))
