"""Dagster wiring of the contracts in force (``marts.contracts_in_force``) and its checks."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.crm.expectations import CONTRACTS_IN_FORCE_SUITE
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.crm.terms import contracts_in_force as build_contracts_in_force
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import partition_days, quantities, table_metadata
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions


@dg.asset(
    key=["marts", "contracts_in_force"],
    pool=WAREHOUSE_POOL,
    ins={"crm_contracts": dg.AssetIn(key=["staging", "crm_contracts"])},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
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
@limited("contracts")
def contracts_in_force(context: dg.AssetExecutionContext, crm_contracts: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    days = partition_days(context)  # one day, or a range in a single-run backfill
    snapshot_day = pd.to_datetime(crm_contracts["delivery_day"]).dt.date if len(crm_contracts) else pd.Series([], dtype="object")
    frames = [build_contracts_in_force(crm_contracts.loc[snapshot_day.eq(day)] if len(crm_contracts) else crm_contracts, day)
              for day in days]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
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
        context.log.warning(f"{len(invalid)} contract(s) in force on {days[0]}..{days[-1]} are invalid: {', '.join(sorted(set(invalid['contract_id'])))}")
    for day, f in zip(days, frames):
        if len(f) == 0:
            context.log.warning(f"no CRM snapshot covers {day}: no contracts in force")
    return dg.Output(frame, metadata=quantities(md))


contracts_in_force_checks = build_suite_checks(CONTRACTS_IN_FORCE_SUITE)
