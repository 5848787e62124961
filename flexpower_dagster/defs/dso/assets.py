"""Staging assets of the DSO: final production, redispatch flags, redispatch compensation.

Final production and flags map the metering point to the asset through the day's CRM contract
snapshot (``staging/crm_contracts`` of the same delivery day); a file whose metering point has no
contract is rejected (rule ``unknown-metering-point``) without stopping the other files.
"""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.dso import sources
from flexpower_dagster.defs.dso.rules import metering_point_validator
from flexpower_dagster.platform.staging import build_staging_asset

CRM_CONTRACTS_IN = {"crm_contracts": dg.AssetIn(key=["staging", "crm_contracts"])}


def md_table(frame: pd.DataFrame, floatfmt: str = "{:,.3f}") -> dg.MetadataValue:
    """A small frame as a markdown table (index included)."""
    frame = frame.reset_index()
    cols = [str(c) for c in frame.columns]
    body = frame.astype(object).map(lambda v: floatfmt.format(v) if isinstance(v, float) else str(v))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r) + " |" for r in body.to_numpy().tolist()]
    return dg.MetadataValue.md("\n".join(lines))


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
        "mwh_per_asset": md_table(per_asset),
    }


def summarize_redispatch_flags(frame: pd.DataFrame) -> dict:
    flagged = frame.loc[frame["is_redispatched"].fillna(False).astype(bool)]
    per_asset = flagged.groupby("asset_id").agg(
        redispatched_qhs=("delivery_start", "nunique"), first=("delivery_start", "min"), last_end=("delivery_end", "max")
    )
    md = {"redispatched_qhs": len(flagged), "assets_redispatched": int(flagged["asset_id"].nunique())}
    if len(per_asset):
        md["redispatch_per_asset"] = md_table(per_asset)
    return md


def summarize_compensation(frame: pd.DataFrame) -> dict:
    p = frame["price_eur_per_mwh"]
    return {
        **qh_summary(frame),
        "mean_price_eur_per_mwh": float(p.mean()),
        "min_price_eur_per_mwh": float(p.min()),
        "max_price_eur_per_mwh": float(p.max()),
    }


dso_final_production = build_staging_asset(
    sources.FINAL_PRODUCTION,
    ins=CRM_CONTRACTS_IN,
    make_validator=metering_point_validator(header_row=1),  # the metering point is in the header (line 1)
    summarize=summarize_final_production,
)

dso_redispatch_flags = build_staging_asset(
    sources.REDISPATCH_FLAGS,
    ins=CRM_CONTRACTS_IN,
    make_validator=metering_point_validator(header_row=None),  # the metering point is in the file name
    summarize=summarize_redispatch_flags,
)

dso_redispatch_compensation = build_staging_asset(sources.REDISPATCH_COMPENSATION, summarize=summarize_compensation)
