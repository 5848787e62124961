"""Dagster wiring of the CRM domain: the staged contract snapshot and the contracts in force."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.crm.rules import contracts_in_force as build_contracts_in_force
from flexpower_dagster.defs.crm.sources import CRM_CONTRACTS_SOURCE
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.staging import build_staging_asset, partition_day, table_metadata


def summarize_contracts(frame: pd.DataFrame) -> dict:
    """Metadata of the staged snapshot: which snapshot, how many contracts, how much capacity."""
    by_tech = frame.groupby("technology", dropna=False)["capacity_mw"].sum()
    return {
        "snapshot_file": str(frame["source_file"].iloc[0]),
        "snapshot_created_at": str(pd.Timestamp(frame["snapshot_created_at"].max())),
        "contracts": int(frame["contract_id"].nunique()),
        "assets": int(frame["asset_id"].nunique()),
        "capacity_mw": float(round(frame["capacity_mw"].sum(), 3)),
        "capacity_mw_by_technology": dg.MetadataValue.json({str(k): round(float(v), 3) for k, v in by_tech.items()}),
    }


crm_contracts = build_staging_asset(CRM_CONTRACTS_SOURCE, summarize=summarize_contracts)


@dg.asset(
    key=["marts", "contracts_in_force"],
    ins={"crm_contracts": dg.AssetIn(key=["staging", "crm_contracts"])},
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="marts_contracts",
    kinds={"duckdb", "pandas"},
    metadata=table_metadata(CONTRACTS_IN_FORCE),
    description=(
        "Contracts in force on the delivery day (contract_begin <= D < contract_end, open-ended when "
        "contract_end is empty), from the CRM snapshot in effect for D. Their assets are the day's portfolio; "
        "invoicing, forecasts and reports build on it. Inconsistent commercial terms (e.g. a fixed price "
        "model without a price, a fee model without its parameter) are kept with valid = false and every "
        "problem named in `problems`, never silently priced at 0."
    ),
)
def contracts_in_force(context: dg.AssetExecutionContext, crm_contracts: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    day = partition_day(context)
    frame = build_contracts_in_force(crm_contracts, day)
    invalid = frame.loc[~frame["valid"].fillna(False).astype(bool)]
    md: dict = {
        "contracts": len(frame),
        "invalid_contracts": len(invalid),
        "assets": int(frame["asset_id"].nunique()),
        "capacity_mw": float(round(frame["capacity_mw"].sum(), 3)),
    }
    if len(invalid):
        md["problems"] = dg.MetadataValue.md(
            "| contract | problems |\n|---|---|\n"
            + "\n".join(f"| {c} | {p} |" for c, p in zip(invalid["contract_id"], invalid["problems"]))
        )
        context.log.warning(f"{len(invalid)} contract(s) in force on {day} are invalid: {', '.join(invalid['contract_id'])}")
    if len(crm_contracts) == 0:
        context.log.warning(f"no CRM snapshot covers {day}: no contracts in force")
    return dg.Output(frame, metadata=md)
