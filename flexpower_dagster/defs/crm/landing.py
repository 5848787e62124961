"""The CRM as a landing source: the contract snapshots (``crm/asset_contracts_*.csv``) -> ``staging.crm_contracts``."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.crm.expectations import CRM_CONTRACTS_SUITE
from flexpower_dagster.defs.crm.sources import CRM_CONTRACTS_SOURCE
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.staging import StagingSource


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


CRM_CONTRACTS = StagingSource(CRM_CONTRACTS_SOURCE, suite=CRM_CONTRACTS_SUITE, summarize=summarize_contracts)


@dg.component_instance
def crm(context: dg.ComponentLoadContext) -> LandingSource:
    return LandingSource(system="crm", sources=(CRM_CONTRACTS,))
